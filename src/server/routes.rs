//! HTTP routes of the key-share server (docs/DESIGN.md section 3), the audit
//! middleware, and the mapping of failures to short JSON error bodies.
//!
//! Every handler attaches an [`AuditInfo`] to its response; the audit layer
//! turns it into one audit line (or, for requests without an authenticated
//! principal, a count in the aggregate tally) and a metrics sample. Error
//! messages are fixed, short strings: no paths, no debug output, nothing
//! from inside the server.
//!
//! Handlers take the body unread and read it themselves, only after
//! authentication, authorisation and the request rate limit passed
//! (docs/FORMAT.md section 5 gives the order): an unauthenticated peer can
//! make the server read nothing beyond the headers, a declared
//! `Content-Length` over the limit is answered 413 without reading, and the
//! body must arrive within the body timeout.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State as Shared};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use rand::rngs::OsRng;
use serde::de::DeserializeOwned;
use zeroize::Zeroize;

use super::audit::{self, Actor, AuditInfo, AuditRecord};
use super::auth::{bearer_token, generate_token, hash_token};
use super::metrics::{outcome, Limit};
use super::ratelimit::ClientLimit;
use super::seal::UnsealSecret;
use super::state::{
    normalize_keyset_id, valid_client_name, validate_install, ClientChangeError, ClientError,
    ClientRecord, InstallError, InstallOutcome, Principal, State, UnsealError, UnsealOutcome,
};
use crate::encoding::b64;
use crate::protocol::{
    b64_element, unb64_element, ClientInfo, ClientList, CreateClientRequest, CreateClientResponse,
    ErrorBody, EvaluateRequest, EvaluateResponse, Health, InstallShareRequest, UnsealRequest,
    UnsealResponse, MAX_BATCH, MAX_BODY,
};
use crate::threshold::voprf::blind_evaluate_batch;

mod lifecycle;

/// A failed request: status and a short message for [`ErrorBody`].
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
    /// Seconds for `Retry-After` on a 429 or 503 (1 when not given).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit exceeded; retry later",
            )
        }
    }

    fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    }

    fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn unauthorized(message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    fn forbidden(message: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    fn internal(message: &'static str) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message.into_owned(),
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 section 3: a 401 names the scheme it wants.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            // RFC 9110 section 10.2.3: when the bucket holds enough again
            // (or, for a busy server, a second).
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after.unwrap_or(1)),
            );
        }
        response
    }
}

/// Builds the response and attaches the audit info for the audit layer.
fn finish<T: IntoResponse>(info: AuditInfo, result: Result<T, ApiError>) -> Response {
    let mut response = match result {
        Ok(ok) => ok.into_response(),
        Err(err) => err.into_response(),
    };
    response.extensions_mut().insert(info);
    response
}

/// The router of every endpoint, with the body limit and audit layer.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/keys/{keyset_id}", get(key_info))
        .route("/v1/keys/{keyset_id}/evaluate", post(evaluate))
        .route("/v1/admin/keys/{keyset_id}", put(install_share))
        .route("/v1/admin/clients", post(create_client).get(list_clients))
        .route("/v1/admin/clients/{name}", delete(revoke_client))
        .route("/v1/admin/unseal", post(unseal))
        .route("/v1/identity", get(lifecycle::identity))
        .route("/v1/admin/lifecycle/deal", post(lifecycle::deal))
        .route("/v1/admin/lifecycle/receive", post(lifecycle::receive))
        .route("/v1/admin/lifecycle/commit", post(lifecycle::commit))
        .route("/v1/admin/lifecycle/abort", post(lifecycle::abort))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            audit_layer,
        ))
        .with_state(state)
}

/// Writes one audit line per authenticated request and counts it. When the
/// handler marked its request as requiring an audit trail (every
/// authenticated endpoint: evaluate, key info, admin), a successful answer
/// is replaced by a 500 if the line cannot be written (docs/DESIGN.md
/// section 4), so no oracle answer or admin result leaves the server
/// unrecorded. Admin changes also check the log can be opened before
/// changing anything; a change whose line then fails to write is already on
/// disk, and the 500 tells the admin so.
///
/// Requests that end without an authenticated principal are charged to
/// their source address and tallied for the summary line instead; an
/// address whose bucket is empty gets 429 before routing, unless the
/// request carries a valid credential (so a client sharing an address with
/// a noisy neighbour keeps working).
async fn audit_layer(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let ip = peer.map(|p| p.ip());
    if let Some(refused) = ip.and_then(|ip| state.limiter.peer_exhausted(ip)) {
        if !presents_valid_credential(&state, request.headers()) {
            state.metrics.record_refusal(Limit::Unauthenticated);
            let (parts, body) = request.into_parts();
            discard_unread(&state, &parts.headers, Some(body)).await;
            let response = ApiError::rate_limited(refused.retry_after).into_response();
            return tally_unauthenticated(&state, "limited", response, ip, None);
        }
    }
    let mut response = next.run(request).await;
    let info = response
        .extensions_mut()
        .remove::<AuditInfo>()
        .unwrap_or_else(|| AuditInfo::new("unmatched"));
    let status = response.status();
    match &info.actor {
        Actor::Anonymous => {
            return tally_unauthenticated(&state, info.endpoint, response, ip, None)
        }
        // A revoked token failed authentication like an unknown one.
        Actor::Client(name) if status == StatusCode::UNAUTHORIZED => {
            return tally_unauthenticated(&state, info.endpoint, response, ip, Some(name))
        }
        Actor::Admin | Actor::Client(_) => {}
    }
    let line = AuditRecord {
        time: audit::now_rfc3339(),
        client: info.actor.label(),
        peer: peer.map(|p| p.to_string()),
        method: &method,
        endpoint: info.endpoint,
        keyset: info.keyset.as_deref(),
        elements: info.elements,
        status: status.as_u16(),
        outcome: outcome(status),
    }
    .to_line();
    let written = audit::write_line(&state, line, info.required).await;
    if written.is_err() && info.required && status.is_success() {
        response = ApiError::internal("the request could not be audited").into_response();
    }
    state
        .metrics
        .record_request(info.endpoint, outcome(response.status()));
    response
}

/// Charges an unauthenticated request to its source address, counts it in
/// the summary tally and the metrics, and passes its answer on. Nothing is
/// written per request, so a flood cannot fill the disk.
fn tally_unauthenticated(
    state: &State,
    endpoint: &'static str,
    response: Response,
    ip: Option<std::net::IpAddr>,
    revoked: Option<&str>,
) -> Response {
    let outcome = outcome(response.status());
    if let Some(ip) = ip {
        state.limiter.charge_peer(ip);
    }
    state
        .limiter
        .anonymous
        .record(endpoint, outcome, ip, revoked);
    state.metrics.record_request(endpoint, outcome);
    response
}

/// Checks that the audit log can be opened before an admin change, so a
/// change is not made when its audit line cannot be written.
async fn audit_preflight(state: &Arc<State>) -> Result<(), ApiError> {
    let path = state.audit_path();
    tokio::task::spawn_blocking(move || crate::durable::open_append_private(&path).map(drop))
        .await
        .map_err(|_| ApiError::internal("the request could not be audited"))?
        .map_err(|_| ApiError::internal("the request could not be audited"))
}

/// Resolves the bearer token and records who it is in `info`.
fn authenticate(
    state: &State,
    headers: &HeaderMap,
    info: &mut AuditInfo,
) -> Result<Principal, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token =
        bearer_token(value).ok_or(ApiError::unauthorized("missing or malformed bearer token"))?;
    // A storage failure is the server's problem, not a bad credential: 503,
    // so clients move to another server and the operator sees it.
    let principal = state.try_authenticate(token).map_err(|e| {
        eprintln!(
            "shardlock server: cannot look up a token: {}",
            crate::error_chain::one_line(&e)
        );
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
    })?;
    match principal {
        None => Err(ApiError::unauthorized("invalid token")),
        Some(Principal::Revoked(name)) => {
            info.actor = Actor::Client(name);
            Err(ApiError::unauthorized("token revoked"))
        }
        Some(principal) => {
            info.actor = match &principal {
                Principal::Admin => Actor::Admin,
                Principal::Client { name, .. } | Principal::Revoked(name) => {
                    Actor::Client(name.clone())
                }
            };
            Ok(principal)
        }
    }
}

fn require_admin(state: &State, headers: &HeaderMap, info: &mut AuditInfo) -> Result<(), ApiError> {
    match authenticate(state, headers, info)? {
        Principal::Admin => Ok(()),
        _ => Err(ApiError::forbidden("the admin credential is required")),
    }
}

/// Refuses requests that need a share while the server is sealed: 503, so
/// clients move on to another server, and the operator's `status` and
/// health probes show why.
fn require_unsealed(state: &State) -> Result<(), ApiError> {
    if state.is_sealed() {
        state.metrics.record_refusal(Limit::Sealed);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server is sealed; its operator must unseal it",
        ));
    }
    Ok(())
}

/// The path parameter, or "" when it cannot be extracted (e.g. invalid
/// percent-encoding), which the callers' validation then rejects with a
/// JSON error like any other malformed value.
fn segment(path: Result<Path<String>, PathRejection>) -> String {
    path.map(|Path(value)| value).unwrap_or_default()
}

fn keyset_from_path(raw: &str, info: &mut AuditInfo) -> Result<String, ApiError> {
    let id = normalize_keyset_id(raw).ok_or(ApiError::bad_request(
        "malformed keyset id (expected 64 hex digits)",
    ))?;
    info.keyset = Some(id.clone());
    Ok(id)
}

/// Whether the request's bearer token belongs to the admin or an active
/// client. Only asked for addresses already over the unauthenticated limit.
fn presents_valid_credential(state: &State, headers: &HeaderMap) -> bool {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    bearer_token(value).is_some_and(|token| {
        matches!(
            state.authenticate(token),
            Some(Principal::Admin | Principal::Client { .. })
        )
    })
}

/// Why a body could not be collected.
enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads the request body; call only once the request is authenticated
/// and authorised. A declared `Content-Length` over [`MAX_BODY`] is
/// answered 413 without reading a byte; otherwise the body is read up to
/// [`MAX_BODY`] bytes (413 beyond) and must arrive within the body timeout
/// (408). The buffer is allocated once for a declared length, so a body
/// holding a secret share is not left behind in reallocated memory.
async fn read_body(
    state: &State,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Vec<u8>, ApiError> {
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        state.metrics.record_refusal(Limit::BodySize);
        return Err(ApiError::too_large());
    }
    // At most MAX_BODY by the check above.
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let body = body
        .take()
        .ok_or(ApiError::bad_request("unreadable request body"))?;
    let timeout = state.limiter.limits().body_timeout;
    match tokio::time::timeout(timeout, collect_body(body, capacity)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(BodyError::TooLarge)) => {
            state.metrics.record_refusal(Limit::BodySize);
            Err(ApiError::too_large())
        }
        Ok(Err(BodyError::Unreadable)) => Err(ApiError::bad_request("unreadable request body")),
        Err(_) => {
            state.metrics.record_refusal(Limit::BodyTimeout);
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time",
            ))
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads and drops the body of a request refused before its body was
/// read, if it is within the size limit. Closing a connection with unread
/// request bytes makes the kernel reset it, which can destroy the answer
/// before the client reads it: a client with a wrong token would see a
/// network error instead of its 401. Bounded by [`MAX_BODY`] and the body
/// timeout; a declared body over the limit is not read at all.
async fn discard_unread(state: &State, headers: &HeaderMap, body: Option<Body>) {
    let Some(mut body) = body else {
        return;
    };
    if declared_length(headers).is_some_and(|n| n > MAX_BODY as u64) {
        return;
    }
    let timeout = state.limiter.limits().body_timeout;
    let _ = tokio::time::timeout(timeout, async move {
        let mut seen = 0usize;
        while let Some(Ok(frame)) =
            std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > MAX_BODY {
                    return;
                }
            }
        }
    })
    .await;
}

async fn collect_body(mut body: Body, capacity: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::with_capacity(capacity);
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        // Trailers carry nothing this protocol uses.
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > MAX_BODY {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn parse_json<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request(what))
}

async fn health(Shared(state): Shared<Arc<State>>) -> Response {
    let status = if state.is_sealed() { "sealed" } else { "ok" };
    finish(
        AuditInfo::new("health"),
        Ok::<_, ApiError>(Json(Health {
            status: status.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })),
    )
}

async fn metrics(Shared(state): Shared<Arc<State>>) -> Response {
    finish(
        AuditInfo::new("metrics"),
        Ok::<_, ApiError>((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            state
                .metrics
                .render(state.limiter.evaluations_in_flight(), state.is_sealed()),
        )),
    )
}

async fn not_found() -> Response {
    finish(
        AuditInfo::new("not_found"),
        Err::<(), _>(ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")),
    )
}

async fn method_not_allowed() -> Response {
    finish(
        AuditInfo::new("method_not_allowed"),
        Err::<(), _>(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this endpoint",
        )),
    )
}

async fn key_info(
    Shared(state): Shared<Arc<State>>,
    keyset_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let mut info = AuditInfo::new("key_info");
    info.required = true;
    let result = (|| {
        let id = keyset_from_path(&segment(keyset_id), &mut info)?;
        match authenticate(&state, &headers, &mut info)? {
            Principal::Admin => {}
            Principal::Client { keysets, .. } if keysets.contains(&id) => {}
            _ => return Err(ApiError::forbidden("token not granted for this keyset")),
        }
        require_unsealed(&state)?;
        let key = state
            .key(&id)
            .ok_or(ApiError::new(StatusCode::NOT_FOUND, "keyset not installed"))?;
        Ok(Json(key.info()))
    })();
    finish(info, result)
}

async fn evaluate(
    Shared(state): Shared<Arc<State>>,
    keyset_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut info = AuditInfo::new("evaluate");
    info.required = true;
    let mut body = Some(body);
    let result = evaluate_inner(&state, &segment(keyset_id), &headers, &mut body, &mut info).await;
    discard_unread(&state, &headers, body).await;
    finish(info, result)
}

async fn evaluate_inner(
    state: &Arc<State>,
    keyset_id: &str,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    info: &mut AuditInfo,
) -> Result<Json<EvaluateResponse>, ApiError> {
    let id = keyset_from_path(keyset_id, info)?;
    let name = match authenticate(state, headers, info)? {
        Principal::Client { name, keysets } if keysets.contains(&id) => name,
        Principal::Client { .. } | Principal::Revoked(_) => {
            return Err(ApiError::forbidden("token not granted for this keyset"))
        }
        // The admin credential manages the server; it is not an oracle
        // credential, so a leaked admin token cannot decrypt by itself.
        Principal::Admin => {
            return Err(ApiError::forbidden(
                "the admin credential cannot evaluate; use a client token",
            ))
        }
    };
    require_unsealed(state)?;
    // Before the body: a client over its limit costs no body read.
    if let Err((limit, refused)) = state.limiter.admit_request(&name) {
        state.metrics.record_refusal(match limit {
            ClientLimit::Requests => Limit::ClientRequests,
            ClientLimit::Elements => Limit::ClientElements,
        });
        return Err(ApiError::rate_limited(refused.retry_after));
    }
    let body = read_body(state, headers, body).await?;
    let request: EvaluateRequest =
        parse_json(&body, "request body is not a valid evaluate request")?;
    let count = request.blinded.len();
    info.elements = Some(count);
    if count == 0 || count > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "a batch holds 1 to {MAX_BATCH} elements"
        )));
    }
    // docs/DESIGN.md section 1: canonical decoding, identity rejected.
    let blinded = request
        .blinded
        .iter()
        .enumerate()
        .map(|(i, text)| {
            unb64_element(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "blinded element {i} is not a canonical non-identity ristretto255 element"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // docs/DESIGN.md section 4: the oracle rate is counted in elements,
    // each of which unwraps one file key. Charged once the batch is known
    // to be well-formed, so a malformed request costs no elements.
    state
        .limiter
        .charge_elements(&name, count)
        .map_err(|refused| {
            state.metrics.record_refusal(Limit::ClientElements);
            ApiError::rate_limited(refused.retry_after)
        })?;
    let key = state
        .key_at(&id, request.epoch)
        .ok_or(ApiError::new(StatusCode::NOT_FOUND, "keyset not installed"))?;
    let epoch = key.keyset().epoch();
    // docs/FORMAT.md section 8.1: a proof made with another epoch's share
    // could not verify; say so rather than answer.
    if let Some(wanted) = request.epoch {
        if wanted != epoch {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("this server holds epoch {epoch} of the keyset, not {wanted}"),
            ));
        }
    }
    // A bounded number of evaluations compute at once; beyond it the
    // client is told to come back (or ask another server) instead of
    // queueing work the blocking pool cannot absorb.
    let Some(slot) = state.limiter.evaluation_slot() else {
        state.metrics.record_refusal(Limit::Evaluations);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server busy; retry later",
        ));
    };

    // Scalar multiplications and the proof take milliseconds per batch:
    // off the async workers so slow batches do not stall other requests.
    // The slot moves into the task, so it is held until the computation
    // ends even if the client goes away meanwhile.
    let started = Instant::now();
    let computed = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let share = key.share();
        let public_share = key
            .keyset()
            .public_share(share.id())
            .copied()
            .unwrap_or_else(|| share.public_share());
        blind_evaluate_batch(share.value(), &public_share, &blinded, &mut OsRng)
    })
    .await
    .map_err(|_| ApiError::internal("evaluation failed"))?
    .map_err(|_| ApiError::internal("evaluation failed"))?;
    state.metrics.record_evaluation(count, started.elapsed());
    let (evaluated, proof) = computed;
    Ok(Json(EvaluateResponse {
        evaluated: evaluated.iter().map(b64_element).collect(),
        proof: b64(&proof.to_bytes()),
        epoch,
    }))
}

async fn install_share(
    Shared(state): Shared<Arc<State>>,
    keyset_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut info = AuditInfo::new("install_share");
    info.required = true;
    let mut body = Some(body);
    let result = install_inner(&state, &segment(keyset_id), &headers, &mut body, &mut info).await;
    discard_unread(&state, &headers, body).await;
    finish(info, result)
}

async fn install_inner(
    state: &Arc<State>,
    keyset_id: &str,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    info: &mut AuditInfo,
) -> Result<Response, ApiError> {
    let id = keyset_from_path(keyset_id, info)?;
    require_admin(state, headers, info)?;
    require_unsealed(state)?;
    // The body holds a secret share: wiped when dropped.
    let mut raw = zeroize::Zeroizing::new(read_body(state, headers, body).await?);
    let mut request: InstallShareRequest =
        parse_json(&raw, "request body is not a valid install-share request")?;
    raw.zeroize();
    let validated = validate_install(&id, &request);
    request.share.zeroize();
    let key = validated.map_err(|e| ApiError::bad_request(e.to_string()))?;
    audit_preflight(state).await?;
    let state = Arc::clone(state);
    let installed = tokio::task::spawn_blocking(move || state.install(key))
        .await
        .map_err(|_| ApiError::internal("cannot store the share"))?;
    match installed {
        Ok((new, key)) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(key.info())).into_response())
        }
        Err(InstallOutcome::Rejected(InstallError::Conflict)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            InstallError::Conflict.to_string(),
        )),
        Err(InstallOutcome::Rejected(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(InstallOutcome::Storage(e)) => {
            eprintln!("shardlock server: {e}");
            Err(ApiError::internal("cannot store the share"))
        }
    }
}

fn client_info(record: &ClientRecord) -> ClientInfo {
    ClientInfo {
        name: record.name.clone(),
        keysets: record.keysets.clone(),
        revoked: record.revoked,
        created: Some(record.created.clone()),
    }
}

fn client_error(err: ClientChangeError) -> ApiError {
    match err {
        ClientChangeError::Rejected(e) => {
            let status = match e {
                ClientError::InvalidName | ClientError::NoKeysets => StatusCode::BAD_REQUEST,
                ClientError::Exists => StatusCode::CONFLICT,
                ClientError::UnknownKeyset(_) | ClientError::NotFound => StatusCode::NOT_FOUND,
            };
            ApiError::new(status, e.to_string())
        }
        ClientChangeError::Storage(e) => {
            eprintln!("shardlock server: {e}");
            ApiError::internal("cannot store the client list")
        }
    }
}

async fn create_client(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut info = AuditInfo::new("create_client");
    info.required = true;
    let mut body = Some(body);
    let result = async {
        require_admin(&state, &headers, &mut info)?;
        // Grants name installed keysets, which a sealed server cannot see.
        require_unsealed(&state)?;
        let body = read_body(&state, &headers, &mut body).await?;
        let request: CreateClientRequest =
            parse_json(&body, "request body is not a valid create-client request")?;
        audit_preflight(&state).await?;
        let token = generate_token();
        let hash = hash_token(token.expose());
        let name = request.name.clone();
        let shared = Arc::clone(&state);
        tokio::task::spawn_blocking(move || {
            shared.add_client(&request.name, hash, &request.keysets)
        })
        .await
        .map_err(|_| ApiError::internal("cannot store the client list"))?
        .map_err(client_error)?;
        Ok((
            StatusCode::CREATED,
            Json(CreateClientResponse {
                name,
                token: token.expose().to_string(),
            }),
        ))
    }
    .await;
    discard_unread(&state, &headers, body).await;
    finish(info, result)
}

async fn list_clients(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Response {
    let mut info = AuditInfo::new("list_clients");
    info.required = true;
    let result = require_admin(&state, &headers, &mut info).and_then(|()| {
        let clients = state
            .clients()
            .map_err(|_| ApiError::internal("cannot read the client list"))?;
        Ok(Json(ClientList {
            clients: clients.iter().map(client_info).collect(),
        }))
    });
    finish(info, result)
}

async fn revoke_client(
    Shared(state): Shared<Arc<State>>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let name = segment(name);
    let mut info = AuditInfo::new("revoke_client");
    info.required = true;
    let result = async {
        require_admin(&state, &headers, &mut info)?;
        if !valid_client_name(&name) {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "no such client"));
        }
        audit_preflight(&state).await?;
        let shared = Arc::clone(&state);
        let target = name.clone();
        tokio::task::spawn_blocking(move || shared.revoke_client(&target))
            .await
            .map_err(|_| ApiError::internal("cannot store the client list"))?
            .map_err(client_error)?;
        let record = state
            .client(&name)
            .map_err(|_| ApiError::internal("cannot read the client list"))?
            .ok_or(ApiError::new(StatusCode::NOT_FOUND, "no such client"))?;
        Ok(Json(client_info(&record)))
    }
    .await;
    finish(info, result)
}

/// `POST /v1/admin/unseal`: the admin credential plus the passphrase or
/// key file (docs/FORMAT.md section 5.7). A wrong secret is 403 and
/// audited like any admin request; argon2id runs on the blocking pool.
async fn unseal(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> Response {
    let mut info = AuditInfo::new("unseal");
    info.required = true;
    let mut body = Some(body);
    let result = async {
        require_admin(&state, &headers, &mut info)?;
        let raw = zeroize::Zeroizing::new(read_body(&state, &headers, &mut body).await?);
        let request: UnsealRequest =
            parse_json(&raw, "request body is not a valid unseal request")?;
        let secret = UnsealSecret::from_request(&request).map_err(ApiError::bad_request)?;
        drop(request);
        let shared = Arc::clone(&state);
        let outcome = tokio::task::spawn_blocking(move || shared.unseal(&secret))
            .await
            .map_err(|_| ApiError::internal("cannot unseal"))?;
        let (status, keysets) = match outcome {
            Ok(UnsealOutcome::Unsealed(n)) => ("unsealed", n),
            Ok(UnsealOutcome::AlreadyUnsealed(n)) => ("already unsealed", n),
            Err(UnsealError::Refused(e)) => {
                return Err(ApiError::new(StatusCode::FORBIDDEN, e.to_string()))
            }
            Err(UnsealError::Failed(e)) => {
                eprintln!("shardlock server: unseal failed: {e}");
                return Err(ApiError::internal(
                    "cannot unseal; the server's log says why",
                ));
            }
        };
        if status == "unsealed" {
            eprintln!("shardlock server: unsealed, serving {keysets} keyset(s)");
        }
        Ok(Json(UnsealResponse {
            status: status.into(),
            keysets,
        }))
    }
    .await;
    discard_unread(&state, &headers, body).await;
    finish(info, result)
}
