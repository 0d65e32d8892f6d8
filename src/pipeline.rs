//! Multi-core chunked encryption of one stream. C2SP chunks are sealed
//! independently (the nonce is the chunk index), so a large file can use
//! every core: a reader thread fills segments of 64 chunks, workers seal or
//! open them, and the calling thread writes them back in order.
//!
//! Memory is bounded by the segment pool (`2 × threads + 2` segments of
//! about 1 MiB), whatever the stream's length. Only `Read` and `Write` are
//! used, so stdin, pipes, /dev/null and regular files all work.
//!
//! Decryption releases a segment only once every chunk in it has
//! authenticated, and never after a failure; as with [`DecryptReader`],
//! callers that must not leave partial plaintext write to a temporary file.
//!
//! [`DecryptReader`]: crate::stream::DecryptReader

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;

use rand::{CryptoRng, RngCore};
use zeroize::Zeroize;

use crate::secret::DataKey;
use crate::stream::{
    DecryptReader, EncryptReader, StreamError, StreamKey, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE,
    PREFIX_LEN, TAG_LEN,
};

/// Chunks per segment: 1 MiB of plaintext, enough to amortise the
/// hand-offs between threads.
const SEGMENT_CHUNKS: usize = 64;
/// Bytes of one segment buffer (encrypted chunk slots).
const SEGMENT_BYTES: usize = SEGMENT_CHUNKS * ENCRYPTED_CHUNK_SIZE;
/// Buffer for the single-threaded path.
const COPY_BUFFER: usize = 256 * 1024;

/// Why a pipeline failed: on the input side, the output side, or in the
/// ciphertext itself.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Reading failed.
    #[error("reading the input failed: {0}")]
    Read(#[source] io::Error),
    /// Writing failed.
    #[error("writing the output failed: {0}")]
    Write(#[source] io::Error),
    /// The ciphertext is invalid.
    #[error(transparent)]
    Stream(#[from] StreamError),
}

/// Reads into `buf` until full or end of input.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The stream errors the sequential readers wrap in `io::Error`.
fn split_read_error(e: io::Error) -> PipelineError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<StreamError>())
    {
        Some(stream) => PipelineError::Stream(*stream),
        None => PipelineError::Read(e),
    }
}

/// One unit of work: up to 64 chunks in fixed 16400-byte slots.
struct Segment {
    seq: u64,
    first_chunk: u64,
    buf: Vec<u8>,
    /// Bytes of input in each slot (plaintext when encrypting, ciphertext
    /// when decrypting).
    lens: Vec<usize>,
    /// Bytes ready to write after processing.
    out_len: usize,
}

/// Encrypts `input` as a chunked-encryption body (prefix included) onto
/// `output` with `threads` workers; returns the plaintext length.
pub fn encrypt<R: Read + Send, W: Write, G: RngCore + CryptoRng>(
    input: R,
    mut output: W,
    dek: &DataKey,
    context: &[u8],
    threads: usize,
    rng: &mut G,
) -> Result<u64, PipelineError> {
    let mut counted = CountingReader {
        inner: input,
        count: 0,
    };
    if threads <= 1 {
        let mut reader = EncryptReader::<_>::new(&mut counted, dek.expose(), context, rng);
        copy(&mut reader, &mut output)?;
        return Ok(counted.count);
    }
    let (key, prefix) =
        StreamKey::<crate::stream::DefaultCipher>::new_message(dek.expose(), context, rng);
    output.write_all(&prefix).map_err(PipelineError::Write)?;
    run(&mut counted, &mut output, threads, CHUNK_SIZE, |seg| {
        // The reader left the plaintext contiguous; spread the chunks into
        // their 16400-byte slots (last first, so nothing is overwritten
        // before it moves), then seal each in place.
        for (slot, &len) in seg.lens.iter().enumerate().rev() {
            seg.buf.copy_within(
                slot * CHUNK_SIZE..slot * CHUNK_SIZE + len,
                slot * ENCRYPTED_CHUNK_SIZE,
            );
        }
        let mut out = 0;
        for (slot, &len) in seg.lens.iter().enumerate() {
            let start = slot * ENCRYPTED_CHUNK_SIZE;
            key.seal_chunk(
                seg.first_chunk + slot as u64,
                &mut seg.buf[start..start + len + TAG_LEN],
            )?;
            out = start + len + TAG_LEN;
        }
        seg.out_len = out;
        Ok(())
    })?;
    Ok(counted.count)
}

/// Decrypts a chunked-encryption body (prefix included) from `input` onto
/// `output` with `threads` workers; returns the plaintext length.
pub fn decrypt<R: Read + Send, W: Write>(
    mut input: R,
    mut output: W,
    dek: &DataKey,
    context: &[u8],
    threads: usize,
) -> Result<u64, PipelineError> {
    if threads <= 1 {
        let mut reader =
            DecryptReader::<_>::new(input, dek.expose(), context).map_err(split_read_error)?;
        return copy(&mut reader, &mut output);
    }
    let mut prefix = [0u8; PREFIX_LEN];
    let got = read_full(&mut input, &mut prefix).map_err(PipelineError::Read)?;
    let key = StreamKey::<crate::stream::DefaultCipher>::open_message(
        dek.expose(),
        context,
        &prefix[..got],
    )?;
    run(
        &mut input,
        &mut output,
        threads,
        ENCRYPTED_CHUNK_SIZE,
        |seg| {
            // Open every chunk in place, then slide the plaintexts together so
            // the segment is written with one call.
            let mut out = 0;
            for (slot, &len) in seg.lens.iter().enumerate() {
                let start = slot * ENCRYPTED_CHUNK_SIZE;
                let index = seg.first_chunk + slot as u64;
                if len < TAG_LEN {
                    return Err(StreamError::Truncated(index));
                }
                let plain = key.open_chunk(index, &mut seg.buf[start..start + len])?;
                seg.buf.copy_within(start..start + plain, out);
                out += plain;
            }
            seg.out_len = out;
            Ok(())
        },
    )
}

fn copy<R: Read, W: Write>(reader: &mut R, output: &mut W) -> Result<u64, PipelineError> {
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(split_read_error)?;
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).map_err(PipelineError::Write)?;
        total += n as u64;
    }
    buf.zeroize();
    Ok(total)
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// The reader → workers → ordered writer machinery shared by both
/// directions. The input is cut into chunks of `unit` bytes (plaintext
/// chunks when encrypting, encrypted chunks when decrypting); the chunk
/// that comes up short (possibly empty) is the last. Returns the number of
/// bytes written.
fn run<R, W, P>(
    input: &mut R,
    output: &mut W,
    threads: usize,
    unit: usize,
    process: P,
) -> Result<u64, PipelineError>
where
    R: Read + Send,
    W: Write,
    P: Fn(&mut Segment) -> Result<(), StreamError> + Sync,
{
    let pool_size = 2 * threads + 2;
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    for _ in 0..pool_size {
        let _ = free_tx.send(vec![0u8; SEGMENT_BYTES]);
    }
    let (work_tx, work_rx) = sync_channel::<Segment>(pool_size);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = channel::<Result<Segment, PipelineError>>();

    std::thread::scope(|scope| {
        let reader_done = done_tx.clone();
        scope.spawn(move || read_segments(input, unit, free_rx, work_tx, reader_done));
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            let process = &process;
            scope.spawn(move || work(work_rx, process, done_tx));
        }
        drop(done_tx);
        let result = write_in_order(output, &done_rx, &free_tx);
        // Unblock everyone: the reader waits on free buffers, workers on
        // work, and both stop once these ends are gone.
        drop(free_tx);
        drop(done_rx);
        result
    })
}

/// Reads whole segments (64 chunks) with one `read_full` each, which keeps
/// the reader thread, the one serial stage, cheap.
fn read_segments<R: Read>(
    input: &mut R,
    unit: usize,
    free_rx: Receiver<Vec<u8>>,
    work_tx: SyncSender<Segment>,
    done_tx: Sender<Result<Segment, PipelineError>>,
) {
    let span = SEGMENT_CHUNKS * unit;
    let mut seq = 0u64;
    let mut chunk = 0u64;
    loop {
        let Ok(mut buf) = free_rx.recv() else { return };
        let got = match read_full(input, &mut buf[..span]) {
            Ok(n) => n,
            Err(e) => {
                let _ = done_tx.send(Err(PipelineError::Read(e)));
                return;
            }
        };
        let last = got < span;
        let mut lens = vec![unit; got / unit];
        if last {
            // The short (possibly empty) final chunk.
            lens.push(got % unit);
        }
        let count = lens.len() as u64;
        let segment = Segment {
            seq,
            first_chunk: chunk,
            buf,
            lens,
            out_len: 0,
        };
        if work_tx.send(segment).is_err() {
            return;
        }
        seq += 1;
        chunk += count;
        if last {
            return;
        }
    }
}

fn work<P: Fn(&mut Segment) -> Result<(), StreamError>>(
    work_rx: &Mutex<Receiver<Segment>>,
    process: &P,
    done_tx: Sender<Result<Segment, PipelineError>>,
) {
    loop {
        let next = match work_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut segment) = next else { return };
        let result = match process(&mut segment) {
            Ok(()) => Ok(segment),
            Err(e) => {
                segment.buf.zeroize();
                Err(PipelineError::Stream(e))
            }
        };
        if done_tx.send(result).is_err() {
            return;
        }
    }
}

fn write_in_order<W: Write>(
    output: &mut W,
    done_rx: &Receiver<Result<Segment, PipelineError>>,
    free_tx: &Sender<Vec<u8>>,
) -> Result<u64, PipelineError> {
    let mut pending: BTreeMap<u64, Segment> = BTreeMap::new();
    let mut next = 0u64;
    let mut written = 0u64;
    loop {
        // Every sender gone with nothing pending means the reader finished
        // after the final segment and the workers drained.
        let Ok(result) = done_rx.recv() else {
            return Ok(written);
        };
        let segment = result?;
        pending.insert(segment.seq, segment);
        while let Some(mut segment) = pending.remove(&next) {
            output
                .write_all(&segment.buf[..segment.out_len])
                .map_err(PipelineError::Write)?;
            written += segment.out_len as u64;
            next += 1;
            segment.buf[..segment.out_len].zeroize();
            let _ = free_tx.send(segment.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;

    fn message(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 13) as u8).collect()
    }

    #[test]
    fn parallel_output_decrypts_sequentially_and_vice_versa() {
        let dek = DataKey::new([5; 32]);
        let lens = [
            0usize,
            1,
            16383,
            16384,
            16385,
            64 * 16384,
            64 * 16384 + 1,
            3 * 64 * 16384 + 999,
        ];
        for &len in &lens {
            let msg = message(len);
            for threads in [1usize, 2, 3] {
                let mut ct = Vec::new();
                let n =
                    encrypt(msg.as_slice(), &mut ct, &dek, b"ctx", threads, &mut OsRng).unwrap();
                assert_eq!(n, len as u64);
                assert_eq!(ct.len() as u64, crate::stream::encrypted_len(len as u64));
                for back in [1usize, 2, 4] {
                    let mut pt = Vec::new();
                    let n = decrypt(ct.as_slice(), &mut pt, &dek, b"ctx", back).unwrap();
                    assert_eq!(n, len as u64);
                    assert!(pt == msg, "len {len} enc {threads} dec {back}");
                }
            }
        }
    }

    #[test]
    fn parallel_decrypt_rejects_tampering_truncation_and_trailing_data() {
        let dek = DataKey::new([6; 32]);
        let msg = message(200 * 16384 + 5);
        let mut ct = Vec::new();
        encrypt(msg.as_slice(), &mut ct, &dek, b"", 2, &mut OsRng).unwrap();
        let mut flipped = ct.clone();
        flipped[PREFIX_LEN + 150 * ENCRYPTED_CHUNK_SIZE + 9] ^= 1;
        let mut extended = ct.clone();
        extended.extend_from_slice(&[0; 20]);
        let cases: Vec<(&str, &[u8])> = vec![
            ("flipped", &flipped),
            ("cut in a chunk", &ct[..ct.len() - 100]),
            (
                "cut at a boundary",
                &ct[..PREFIX_LEN + 200 * ENCRYPTED_CHUNK_SIZE],
            ),
            ("trailing data", &extended),
            ("no body", &ct[..PREFIX_LEN]),
        ];
        for (what, bad) in cases {
            let mut out = Vec::new();
            assert!(decrypt(bad, &mut out, &dek, b"", 2).is_err(), "{what}");
            // Nothing at or past the corrupted chunk came out.
            if what == "flipped" {
                assert!(out.len() <= 150 * CHUNK_SIZE, "{what}");
            }
            assert_eq!(
                &out[..],
                &msg[..out.len()],
                "{what}: released bytes are authentic"
            );
        }
        assert!(decrypt(
            ct.as_slice(),
            &mut Vec::new(),
            &DataKey::new([7; 32]),
            b"",
            2
        )
        .is_err());
    }

    #[test]
    fn write_errors_stop_the_pipeline() {
        #[derive(Debug)]
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let msg = message(10 * 64 * 16384);
        let err = encrypt(
            msg.as_slice(),
            Full(3),
            &DataKey::new([1; 32]),
            b"",
            2,
            &mut OsRng,
        )
        .unwrap_err();
        assert!(matches!(err, PipelineError::Write(_)));
    }
}
