//! Entry points for the coverage-guided fuzzers in `fuzz/` and for the
//! corpus replay in the test suite: each takes arbitrary bytes from an
//! attacker and must return, never panic, whatever they are. Test-only
//! (the `testkit` feature), like the in-process key service.
//!
//! - [`header`]: the file header, its sealed metadata layout and a private
//!   tree's index (docs/FORMAT.md sections 2 and 9);
//! - [`stream`]: a body decrypted under a fixed data key (section 3);
//! - [`server_request`]: one HTTP request to a real key-share server
//!   (routes, bearer tokens, JSON bodies, element decoding, section 5);
//! - [`config`]: the client config file.

use std::sync::{Arc, OnceLock};

use crate::envelope::{self, Source};
use crate::format::metadata::FileMetadata;
use crate::format::tree_index::TreeIndex;
use crate::format::Header;
use crate::secret::DataKey;
use crate::stream::pipeline;

/// The data key every [`stream`] input is decrypted with (seeds are
/// encrypted under it, so mutations start from valid bodies).
pub const STREAM_KEY: [u8; 32] = [0x42; 32];
/// The chunked-encryption context of [`stream`] bodies.
pub const STREAM_CONTEXT: &[u8] = b"shardlock fuzz";

/// Parses `data` as a header (both the slice parser and the reader), as
/// sealed-metadata plaintext and as a tree index.
pub fn header(data: &[u8]) {
    if let Ok((parsed, used)) = Header::parse(data) {
        // What parses must re-encode to the same bytes.
        if let Ok(bytes) = parsed.to_bytes() {
            assert_eq!(
                bytes,
                data[..used],
                "a parsed header re-encodes differently"
            );
        }
        let _ = parsed.sealed_metadata();
        let _ = parsed.threshold_stanzas().count();
        let _ = parsed.recovery_stanzas().count();
    }
    let mut reader = data;
    if let Ok(sealed) = envelope::read_header(&mut reader) {
        let _ = sealed.keyset_ids();
        let _ = sealed.metadata(&DataKey::new([0; 32]));
    }
    if let Ok(meta) = FileMetadata::decode(data) {
        let _ = meta.relative_path();
        let _ = meta.body_len();
    }
    if let Ok(index) = TreeIndex::decode(data) {
        let again = index.encode().expect("a decoded index encodes");
        assert_eq!(again, data, "a decoded index re-encodes differently");
    }
}

/// Decrypts `data[1..]` as a body under [`STREAM_KEY`] with 1 to 3 threads
/// (chosen by `data[0]`), once as a stream and once as a file region.
pub fn stream(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let threads = 1 + usize::from(choice % 3);
    let dek = DataKey::new(STREAM_KEY);
    let mut sink = std::io::sink();
    let _ = pipeline::decrypt(
        Source::Stream(body),
        &mut sink,
        &dek,
        STREAM_CONTEXT,
        threads,
    );
    if choice & 0x80 != 0 {
        // Whole files too: header, then body bound to it.
        let mut reader = body;
        if let Ok(header) = envelope::read_header(&mut reader) {
            let _ =
                envelope::decrypt_body(&header, &dek, Source::Stream(reader), &mut sink, threads);
        }
    }
}

/// A real server state (insecure seal, one keyset installed, one client
/// token) and the tokens to talk to it, made once per process.
struct Server {
    _dir: tempfile::TempDir,
    app: axum::Router,
    runtime: tokio::runtime::Runtime,
    admin: String,
    client: String,
    keyset_id: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        use rand::rngs::OsRng;
        let dir = tempfile::tempdir().expect("temporary directory");
        let report =
            crate::server::init(dir.path(), &[], &crate::server::seal::SealChoice::Insecure)
                .expect("server init");
        let config_path = dir.path().join("server.toml");
        let text = std::fs::read_to_string(&config_path).expect("server.toml");
        std::fs::write(
            &config_path,
            text.replace("stderr = true", "stderr = false"),
        )
        .expect("server.toml");
        let state = Arc::new(crate::server::State::load(dir.path()).expect("server state"));
        let app = crate::server::app(state);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (keyset, shares) =
            crate::threshold::kem::deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
        let keyset_id = crate::encoding::hex(keyset.id());
        let admin = report.admin_token.expose().to_string();
        let install = serde_json::to_vec(&crate::protocol::InstallShareRequest::new(
            &keyset, &shares[0],
        ))
        .expect("json");
        let (status, _) = runtime.block_on(call(
            &app,
            "PUT",
            &format!("/v1/admin/keys/{keyset_id}"),
            &admin,
            install,
        ));
        assert!(status < 300, "install: {status}");
        let create = serde_json::to_vec(&crate::protocol::CreateClientRequest {
            name: "fuzz".into(),
            keysets: vec![keyset_id.clone()],
        })
        .expect("json");
        let (status, body) =
            runtime.block_on(call(&app, "POST", "/v1/admin/clients", &admin, create));
        assert!(status < 300, "create client: {status}");
        let created: crate::protocol::CreateClientResponse =
            serde_json::from_slice(&body).expect("client token");
        Server {
            _dir: dir,
            app,
            runtime,
            admin,
            client: created.token,
            keyset_id,
        }
    })
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    use tower::ServiceExt as _;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body));
    let Ok(request) = request else {
        return (400, Vec::new());
    };
    let Ok(response) = app.clone().oneshot(request).await;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    (status, bytes)
}

/// Sends `data[1..]` as the body of the request `data[0]` picks (every
/// route that reads a body, plus a raw token and a raw path), to a real
/// server's router in process. Any status is fine; a 500 or a panic is a
/// finding.
pub fn server_request(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let server = server();
    let id = &server.keyset_id;
    let text = String::from_utf8_lossy(body);
    let (method, path, token, body): (&str, String, &str, Vec<u8>) = match choice % 10 {
        0 => (
            "POST",
            format!("/v1/keys/{id}/evaluate"),
            &server.client,
            body.to_vec(),
        ),
        1 => (
            "PUT",
            format!("/v1/admin/keys/{id}"),
            &server.admin,
            body.to_vec(),
        ),
        2 => (
            "POST",
            "/v1/admin/clients".into(),
            &server.admin,
            body.to_vec(),
        ),
        3 => (
            "POST",
            "/v1/admin/lifecycle/deal".into(),
            &server.admin,
            body.to_vec(),
        ),
        4 => (
            "POST",
            "/v1/admin/lifecycle/receive".into(),
            &server.admin,
            body.to_vec(),
        ),
        5 => (
            "POST",
            "/v1/admin/lifecycle/commit".into(),
            &server.admin,
            body.to_vec(),
        ),
        6 => (
            "POST",
            "/v1/admin/lifecycle/abort".into(),
            &server.admin,
            body.to_vec(),
        ),
        7 => (
            "POST",
            "/v1/admin/unseal".into(),
            &server.admin,
            body.to_vec(),
        ),
        // The bearer token itself.
        8 => (
            "POST",
            format!("/v1/keys/{id}/evaluate"),
            text.as_ref(),
            Vec::new(),
        ),
        // An arbitrary path (and keyset id).
        _ => (
            "GET",
            format!("/v1/keys/{}", text.escape_default()),
            &server.client,
            Vec::new(),
        ),
    };
    let (status, _) = server
        .runtime
        .block_on(call(&server.app, method, &path, token, body));
    assert_ne!(status, 500, "{method} {path}: an internal error");
}

/// Parses `data` as a client config file.
pub fn config(data: &[u8]) {
    if let Ok(config) = crate::client::config::Config::parse(data, None) {
        for name in config.keyset_names() {
            let _ = config.entry(name).map(|e| e.recipients());
        }
    }
}

/// A few valid inputs per target, to seed the fuzzers and the replay test.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    use rand::rngs::OsRng;
    match target {
        "stream" => [0usize, 1, 100, 16_384, 70_000]
            .iter()
            .map(|&len| {
                let data = vec![7u8; len];
                let mut out = vec![0u8];
                pipeline::encrypt(
                    Source::Stream(data.as_slice()),
                    &mut out,
                    &DataKey::new(STREAM_KEY),
                    STREAM_CONTEXT,
                    1,
                    &mut OsRng,
                )
                .expect("encrypt");
                out
            })
            .collect(),
        "header" => {
            let (keyset, _) = crate::threshold::kem::deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
            let meta = FileMetadata {
                path: b"dir/file.txt".to_vec(),
                size: 5,
                mode: Some(0o644),
                mtime: Some((1_700_000_000, 1)),
                padded: true,
            };
            let (file, _) = envelope::encrypt(
                Source::Stream(&b"hello"[..]),
                Vec::new(),
                (&keyset).into(),
                Some(&meta),
                1,
                &mut OsRng,
            )
            .expect("encrypt");
            let index = TreeIndex {
                tree_id: [1; 16],
                generation: 2,
                entries: vec![crate::format::tree_index::Entry {
                    path: b"a".to_vec(),
                    kind: crate::format::tree_index::EntryKind::Dir,
                    mode: 0o755,
                    mtime: (0, 0),
                    size: 0,
                }],
            };
            vec![file, meta.encode().expect("metadata").to_vec(), index.encode().expect("index")]
        }
        "server_request" => vec![
            b"\x00{\"blinded\":[\"4gSRAL7nbmUhtxx25MMhXhGC2pAoFWXPb0ZbjkNeHUY\"]}".to_vec(),
            b"\x02{\"name\":\"x\",\"keysets\":[]}".to_vec(),
            b"\x08slk_AAAA".to_vec(),
            b"\x09abc".to_vec(),
        ],
        "config" => vec![
            b"default_keyset = \"dev\"\n[keysets.dev]\nid = \"00\"\nthreshold = 2\ngroup_key = \"AA\"\n".to_vec(),
            Vec::new(),
        ],
        _ => Vec::new(),
    }
}
