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
//! [`DecryptReader`]: super::DecryptReader

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;

use rand::{CryptoRng, RngCore};
use zeroize::Zeroize;

use super::{
    read_full, DecryptReader, DefaultCipher, EncryptReader, StreamError, StreamKey, CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE, PREFIX_LEN, TAG_LEN,
};
use crate::secret::DataKey;

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

/// Where the input of a pipeline comes from.
#[derive(Debug)]
pub enum Source<'a, R> {
    /// Any reader (stdin, a pipe): one thread reads it in order.
    Stream(R),
    /// `len` bytes of a regular file starting at `offset`: every worker
    /// reads its own segments with positional reads, so copying the data
    /// in from the kernel is spread over all cores too.
    File {
        /// The open file.
        file: &'a File,
        /// Where the data starts.
        offset: u64,
        /// How many bytes to process.
        len: u64,
    },
}

/// Encrypts the source as a chunked-encryption body (prefix included) onto
/// `output` with `threads` workers; returns the plaintext length.
pub fn encrypt<R: Read + Send, W: Write, G: RngCore + CryptoRng>(
    source: Source<'_, R>,
    mut output: W,
    dek: &DataKey,
    context: &[u8],
    threads: usize,
    rng: &mut G,
) -> Result<u64, PipelineError> {
    if threads <= 1 {
        let buffer_len = copy_buffer_len(&source);
        let mut counted = CountingReader {
            inner: sequential(source),
            count: 0,
        };
        let mut reader = EncryptReader::<_>::new(&mut counted, dek.expose(), context, rng);
        copy(&mut reader, &mut output, buffer_len)?;
        return Ok(counted.count);
    }
    let (key, prefix) = StreamKey::<DefaultCipher>::new_message(dek.expose(), context, rng);
    output.write_all(&prefix).map_err(PipelineError::Write)?;
    let seal = |seg: &mut Segment| seal_segment(&key, seg);
    let (_, plaintext) = run(source, &mut output, threads, CHUNK_SIZE, &seal)?;
    Ok(plaintext)
}

/// Decrypts a chunked-encryption body (prefix included) from the source
/// onto `output` with `threads` workers; returns the plaintext length.
pub fn decrypt<R: Read + Send, W: Write>(
    source: Source<'_, R>,
    mut output: W,
    dek: &DataKey,
    context: &[u8],
    threads: usize,
) -> Result<u64, PipelineError> {
    if threads <= 1 {
        let buffer_len = copy_buffer_len(&source);
        let input = sequential(source);
        let mut reader =
            DecryptReader::<_>::new(input, dek.expose(), context).map_err(split_read_error)?;
        return copy(&mut reader, &mut output, buffer_len);
    }
    let mut prefix = [0u8; PREFIX_LEN];
    let source = match source {
        Source::Stream(mut input) => {
            let got = read_full(&mut input, &mut prefix).map_err(PipelineError::Read)?;
            check_prefix(got)?;
            Source::Stream(input)
        }
        Source::File { file, offset, len } => {
            let got = if len < PREFIX_LEN as u64 {
                len as usize
            } else {
                PREFIX_LEN
            };
            file.read_exact_at(&mut prefix[..got], offset)
                .map_err(PipelineError::Read)?;
            check_prefix(got)?;
            Source::File {
                file,
                offset: offset + PREFIX_LEN as u64,
                len: len - PREFIX_LEN as u64,
            }
        }
    };
    let key = StreamKey::<DefaultCipher>::open_message(dek.expose(), context, &prefix)?;
    let open = |seg: &mut Segment| open_segment(&key, seg);
    let (written, _) = run(source, &mut output, threads, ENCRYPTED_CHUNK_SIZE, &open)?;
    Ok(written)
}

fn check_prefix(got: usize) -> Result<(), StreamError> {
    if got < PREFIX_LEN {
        Err(StreamError::TruncatedHeader)
    } else {
        Ok(())
    }
}

/// [`encrypt`] of the source followed by `pad` zero bytes (a padded
/// file's body, docs/FORMAT.md section 2.2); returns the length with the
/// padding.
pub fn encrypt_padded<R: Read + Send, W: Write, G: RngCore + CryptoRng>(
    source: Source<'_, R>,
    pad: u64,
    mut output: W,
    dek: &DataKey,
    context: &[u8],
    threads: usize,
    rng: &mut G,
) -> Result<u64, PipelineError> {
    if threads > 1 {
        return encrypt(zero_padded(source, pad), output, dek, context, threads, rng);
    }
    // One thread: a copy buffer sized for the padded length, as for an
    // unpadded file (a small file must not pay for a 256 KiB buffer).
    let buffer_len = match &source {
        Source::File { len, .. } => copy_buffer_for(len.saturating_add(pad)),
        Source::Stream(_) => COPY_BUFFER,
    };
    let mut counted = CountingReader {
        inner: sequential(source).chain(io::repeat(0).take(pad)),
        count: 0,
    };
    let mut reader = EncryptReader::<_>::new(&mut counted, dek.expose(), context, rng);
    copy(&mut reader, &mut output, buffer_len)?;
    Ok(counted.count)
}

/// The source followed by `pad` zero bytes, as one stream: the workers
/// still encrypt in parallel behind one reader thread.
fn zero_padded<'a, R: Read + Send + 'a>(
    source: Source<'a, R>,
    pad: u64,
) -> Source<'a, Box<dyn Read + Send + 'a>> {
    let data: Box<dyn Read + Send + 'a> = match source {
        Source::Stream(input) => Box::new(input),
        Source::File { file, offset, len } => Box::new(FileRegion {
            file,
            position: offset,
            end: offset + len,
        }),
    };
    Source::Stream(Box::new(data.chain(io::repeat(0).take(pad))))
}

/// A plain reader over the source, for the single-threaded paths.
fn sequential<'a, R: Read + 'a>(source: Source<'a, R>) -> Box<dyn Read + 'a> {
    match source {
        Source::Stream(input) => Box::new(input),
        Source::File { file, offset, len } => Box::new(FileRegion {
            file,
            position: offset,
            end: offset + len,
        }),
    }
}

/// `len` bytes of a file from `offset`, read with positional reads: no
/// seek, and the file's own cursor is left alone.
struct FileRegion<'a> {
    file: &'a File,
    position: u64,
    end: u64,
}

impl Read for FileRegion<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.position).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

/// Spreads a segment's contiguous plaintext into 16400-byte slots (last
/// chunk first, so nothing is overwritten before it moves) and seals each
/// chunk in place.
fn seal_segment(key: &StreamKey<DefaultCipher>, seg: &mut Segment) -> Result<(), StreamError> {
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
}

/// Opens every chunk of a segment in place, then slides the plaintexts
/// together so the segment is written with one call.
fn open_segment(key: &StreamKey<DefaultCipher>, seg: &mut Segment) -> Result<(), StreamError> {
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
}

/// Copy buffer for the single-threaded path: room for whole encrypted
/// chunks (the readers' zero-copy path), but no bigger than the data, so a
/// 4 KiB file does not pay for zeroing 256 KiB twice.
fn copy_buffer_len<R>(source: &Source<'_, R>) -> usize {
    match source {
        Source::File { len, .. } => copy_buffer_for(*len),
        Source::Stream(_) => COPY_BUFFER,
    }
}

/// The copy buffer for `len` bytes of plaintext.
fn copy_buffer_for(len: u64) -> usize {
    let needed = usize::try_from(crate::stream::encrypted_len(len)).unwrap_or(COPY_BUFFER);
    needed.clamp(ENCRYPTED_CHUNK_SIZE, COPY_BUFFER)
}

fn copy<R: Read, W: Write>(
    reader: &mut R,
    output: &mut W,
    buffer_len: usize,
) -> Result<u64, PipelineError> {
    let mut buf = vec![0u8; buffer_len];
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

/// Chunk lengths of a segment that read `got` of its `span` bytes: whole
/// units, plus the short (possibly empty) final chunk if the data ended.
fn chunk_lens(got: usize, unit: usize, last: bool) -> Vec<usize> {
    let mut lens = vec![unit; got / unit];
    if last {
        lens.push(got % unit);
    }
    lens
}

type Done = Result<Segment, PipelineError>;

/// The machinery shared by both directions: segments are read (by one
/// reader thread, or by each worker positionally), processed by `threads`
/// workers, and written in order by the calling thread. The input is cut
/// into chunks of `unit` bytes (plaintext chunks when encrypting, encrypted
/// chunks when decrypting); the chunk that comes up short (possibly empty)
/// is the last. Returns (bytes written, bytes read).
fn run<R, W, P>(
    source: Source<'_, R>,
    output: &mut W,
    threads: usize,
    unit: usize,
    process: &P,
) -> Result<(u64, u64), PipelineError>
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
    let (done_tx, done_rx) = channel::<Done>();
    let read_total = AtomicU64::new(0);
    let free_rx = Mutex::new(free_rx);
    let (work_tx, work_rx) = sync_channel::<Segment>(pool_size);
    let work_rx = Mutex::new(work_rx);
    let next = AtomicU64::new(0);

    std::thread::scope(|scope| {
        let (free_rx, work_rx, next, read_total) = (&free_rx, &work_rx, &next, &read_total);
        match source {
            Source::Stream(mut input) => {
                let reader_done = done_tx.clone();
                scope.spawn(move || {
                    read_segments(&mut input, unit, free_rx, work_tx, reader_done, read_total)
                });
                for _ in 0..threads {
                    let done_tx = done_tx.clone();
                    scope.spawn(move || work(work_rx, process, done_tx));
                }
            }
            Source::File { file, offset, len } => {
                drop(work_tx);
                let span = (SEGMENT_CHUNKS * unit) as u64;
                // Always one more segment than full ones: the last holds
                // the short (possibly empty) final chunk.
                let segments = len / span + 1;
                read_total.store(len, Ordering::Relaxed);
                for _ in 0..threads {
                    let done_tx = done_tx.clone();
                    scope.spawn(move || {
                        read_and_work(
                            file, offset, len, segments, unit, free_rx, next, process, done_tx,
                        )
                    });
                }
            }
        }
        drop(done_tx);
        let result = write_in_order(output, &done_rx, &free_tx);
        // Unblock everyone: readers wait on free buffers, workers on work,
        // and all stop once these ends are gone.
        drop(free_tx);
        drop(done_rx);
        result.map(|written| (written, read_total.load(Ordering::Relaxed)))
    })
}

/// A worker of the positional path: claim a buffer, then the next segment
/// number (in that order, so whoever holds segment k can always finish
/// it), read it with one positional read, process it, hand it on.
#[allow(clippy::too_many_arguments)]
fn read_and_work<P: Fn(&mut Segment) -> Result<(), StreamError>>(
    file: &File,
    offset: u64,
    len: u64,
    segments: u64,
    unit: usize,
    free_rx: &Mutex<Receiver<Vec<u8>>>,
    next: &AtomicU64,
    process: &P,
    done_tx: Sender<Done>,
) {
    let span = (SEGMENT_CHUNKS * unit) as u64;
    loop {
        let buf = match free_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut buf) = buf else { return };
        let seq = next.fetch_add(1, Ordering::Relaxed);
        if seq >= segments {
            return;
        }
        let start = seq * span;
        let want = span.min(len - start) as usize;
        let result = match file.read_exact_at(&mut buf[..want], offset + start) {
            Err(e) => Err(PipelineError::Read(e)),
            Ok(()) => {
                let mut segment = Segment {
                    seq,
                    first_chunk: seq * SEGMENT_CHUNKS as u64,
                    buf,
                    lens: chunk_lens(want, unit, seq + 1 == segments),
                    out_len: 0,
                };
                match process(&mut segment) {
                    Ok(()) => Ok(segment),
                    Err(e) => {
                        segment.buf.zeroize();
                        Err(PipelineError::Stream(e))
                    }
                }
            }
        };
        if done_tx.send(result).is_err() {
            return;
        }
    }
}

/// Reads whole segments (64 chunks) with one `read_full` each, which keeps
/// the reader thread, the one serial stage, cheap.
fn read_segments<R: Read>(
    input: &mut R,
    unit: usize,
    free_rx: &Mutex<Receiver<Vec<u8>>>,
    work_tx: SyncSender<Segment>,
    done_tx: Sender<Done>,
    read_total: &AtomicU64,
) {
    let span = SEGMENT_CHUNKS * unit;
    let mut seq = 0u64;
    let mut chunk = 0u64;
    loop {
        let buf = match free_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(mut buf) = buf else { return };
        let got = match read_full(input, &mut buf[..span]) {
            Ok(n) => n,
            Err(e) => {
                let _ = done_tx.send(Err(PipelineError::Read(e)));
                return;
            }
        };
        read_total.fetch_add(got as u64, Ordering::Relaxed);
        let last = got < span;
        let lens = chunk_lens(got, unit, last);
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
    done_tx: Sender<Done>,
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
    done_rx: &Receiver<Done>,
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
                let n = encrypt(
                    Source::Stream(msg.as_slice()),
                    &mut ct,
                    &dek,
                    b"ctx",
                    threads,
                    &mut OsRng,
                )
                .unwrap();
                assert_eq!(n, len as u64);
                assert_eq!(ct.len() as u64, crate::stream::encrypted_len(len as u64));
                for back in [1usize, 2, 4] {
                    let mut pt = Vec::new();
                    let n = decrypt(Source::Stream(ct.as_slice()), &mut pt, &dek, b"ctx", back)
                        .unwrap();
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
        encrypt(
            Source::Stream(msg.as_slice()),
            &mut ct,
            &dek,
            b"",
            2,
            &mut OsRng,
        )
        .unwrap();
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
            assert!(
                decrypt(Source::Stream(bad), &mut out, &dek, b"", 2).is_err(),
                "{what}"
            );
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
            Source::Stream(ct.as_slice()),
            &mut Vec::new(),
            &DataKey::new([7; 32]),
            b"",
            2
        )
        .is_err());
    }

    /// Positional (regular file) sources: the same bytes as a stream, with
    /// the body at an offset as it is after a file header.
    #[test]
    fn file_sources_match_streams_and_reject_damage() {
        use std::io::Write as _;
        let dek = DataKey::new([8; 32]);
        for len in [0usize, 5, 64 * 16384, 64 * 16384 + 7, 3 * 64 * 16384 + 1234] {
            let msg = message(len);
            let mut plain = tempfile::tempfile().unwrap();
            plain.write_all(b"HDR").unwrap();
            plain.write_all(&msg).unwrap();
            for threads in [1usize, 2, 3] {
                let source: Source<'_, &[u8]> = Source::File {
                    file: &plain,
                    offset: 3,
                    len: len as u64,
                };
                let mut ct = Vec::new();
                let n = encrypt(source, &mut ct, &dek, b"c", threads, &mut OsRng).unwrap();
                assert_eq!(n, len as u64);
                let mut sealed = tempfile::tempfile().unwrap();
                sealed.write_all(b"HEADER").unwrap();
                sealed.write_all(&ct).unwrap();
                let source: Source<'_, &[u8]> = Source::File {
                    file: &sealed,
                    offset: 6,
                    len: ct.len() as u64,
                };
                let mut pt = Vec::new();
                assert_eq!(
                    decrypt(source, &mut pt, &dek, b"c", threads).unwrap(),
                    len as u64
                );
                assert!(pt == msg, "len {len} threads {threads}");
                // Truncated by one byte, and by a whole final chunk.
                for cut in [1usize, (len % CHUNK_SIZE) + TAG_LEN] {
                    let source: Source<'_, &[u8]> = Source::File {
                        file: &sealed,
                        offset: 6,
                        len: (ct.len() - cut) as u64,
                    };
                    assert!(
                        decrypt(source, &mut Vec::new(), &dek, b"c", threads).is_err(),
                        "cut {cut}"
                    );
                }
            }
        }
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
            Source::Stream(msg.as_slice()),
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
