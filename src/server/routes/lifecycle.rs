//! The key lifecycle endpoints (docs/FORMAT.md section 8.4): the server's
//! public identity, and the admin-only deal, receive, commit and abort
//! steps, each handed to [`State`] on the blocking pool (signatures, HPKE
//! and the store's transactions).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::de::DeserializeOwned;

use super::{finish, parse_json, read_body, require_admin, require_unsealed, ApiError};
use crate::encoding::{hex, parse_hex32};
use crate::lifecycle::wire::{
    to_confirmations, to_deals, AbortRequest, CommitRequest, DealRequest, IdentityResponse,
    ReceiveRequest, ReceiveResponse, WireConfirmation, WireDeal, WireEpoch,
};
use crate::lifecycle::Plan;
use crate::server::audit::AuditInfo;
use crate::server::state::{LifecycleFailure, State};

/// `GET /v1/identity`: public, like health, so a coordinator can pin it
/// over the pinned TLS connection before it holds any token.
pub(super) async fn identity(Shared(state): Shared<Arc<State>>) -> Response {
    let info = AuditInfo::new("identity");
    let shared = Arc::clone(&state);
    let result = async {
        let found = tokio::task::spawn_blocking(move || shared.identity_public())
            .await
            .map_err(|_| ApiError::internal("cannot read the identity"))?;
        match found {
            Ok(Some(identity)) => Ok(Json(IdentityResponse {
                identity: identity.to_text(),
            })),
            Ok(None) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server is sealed; its operator must unseal it",
            )),
            Err(e) => {
                eprintln!("shardlock server: {e}");
                Err(ApiError::internal("cannot read the identity"))
            }
        }
    }
    .await;
    finish(info, result)
}

/// Reads an admin request body of type `T`, then runs `step` on the
/// blocking pool and maps its failure.
async fn admin_step<T, R>(
    state: Arc<State>,
    headers: HeaderMap,
    body: Body,
    name: &'static str,
    step: impl FnOnce(&State, T) -> Result<R, LifecycleFailure> + Send + 'static,
) -> Response
where
    T: DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    let mut info = AuditInfo::new(name);
    info.required = true;
    let mut body = Some(body);
    let result = async {
        require_admin(&state, &headers, &mut info)?;
        require_unsealed(&state)?;
        let raw = read_body(&state, &headers, &mut body).await?;
        let request: T = parse_json(&raw, "request body is not a valid lifecycle request")?;
        super::audit_preflight(&state).await?;
        let shared = Arc::clone(&state);
        let outcome = tokio::task::spawn_blocking(move || step(&shared, request))
            .await
            .map_err(|_| ApiError::internal("the lifecycle step failed"))?;
        outcome.map(Json).map_err(|e| match e {
            LifecycleFailure::Refused(m) => ApiError::new(StatusCode::CONFLICT, m),
            LifecycleFailure::Protocol(e) => ApiError::bad_request(e.to_string()),
            LifecycleFailure::Sealed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server is sealed; its operator must unseal it",
            ),
            LifecycleFailure::Storage(e) => {
                eprintln!("shardlock server: lifecycle step failed: {e}");
                ApiError::internal("the lifecycle step failed; the server's log says why")
            }
        })
    }
    .await;
    super::discard_unread(&state, &headers, body).await;
    finish(info, result)
}

fn plan_of(wire: &crate::lifecycle::wire::WirePlan) -> Result<Plan, LifecycleFailure> {
    Ok(wire.to_plan()?)
}

/// `POST /v1/admin/lifecycle/deal`.
pub(super) async fn deal(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    admin_step(
        state,
        headers,
        body,
        "lifecycle_deal",
        |state, r: DealRequest| {
            let plan = plan_of(&r.plan)?;
            Ok(WireDeal::from(&state.lifecycle_deal(&plan)?))
        },
    )
    .await
}

/// `POST /v1/admin/lifecycle/receive`.
pub(super) async fn receive(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    admin_step(
        state,
        headers,
        body,
        "lifecycle_receive",
        |state, r: ReceiveRequest| {
            let plan = plan_of(&r.plan)?;
            let deals = to_deals(&r.deals)?;
            let outcome = state.lifecycle_receive(&plan, &deals)?;
            Ok(ReceiveResponse {
                transcript: hex(&outcome.transcript),
                confirmation: WireConfirmation::from(&outcome.confirmation),
                keyset: WireEpoch::from(&outcome.keyset),
            })
        },
    )
    .await
}

/// `POST /v1/admin/lifecycle/commit`.
pub(super) async fn commit(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    admin_step(
        state,
        headers,
        body,
        "lifecycle_commit",
        |state, r: CommitRequest| {
            let plan = plan_of(&r.plan)?;
            let transcript = parse_hex32(&r.transcript).ok_or_else(|| {
                LifecycleFailure::Protocol(crate::lifecycle::LifecycleError::Plan(
                    "transcript is not 64 hex digits".into(),
                ))
            })?;
            let confirmations = to_confirmations(&r.confirmations)?;
            state.lifecycle_commit(&plan, &transcript, &confirmations)
        },
    )
    .await
}

/// `POST /v1/admin/lifecycle/abort`.
pub(super) async fn abort(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    admin_step(
        state,
        headers,
        body,
        "lifecycle_abort",
        |state, r: AbortRequest| {
            let plan = plan_of(&r.plan)?;
            state.lifecycle_abort(&plan)
        },
    )
    .await
}
