//! [`AdminClient`]: the admin API of one server (install a share, create,
//! list and revoke clients), for `keyset create` and `revoke-client`.

use std::fmt;

use super::transport::{to_json, Connection, Method};
use super::url::{path_client_name, path_keyset_id};
use super::{HttpError, HttpOptions};
use crate::identity::IdentityPublic;
use crate::lifecycle::wire::IdentityResponse;
use crate::protocol::{
    ClientInfo, ClientList, CreateClientRequest, CreateClientResponse, Health, InstallShareRequest,
    KeyInfo, Token, UnsealRequest, UnsealResponse,
};

/// The admin API of one server, authenticated with its admin token.
pub struct AdminClient {
    connection: Connection,
    token: Token,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("url", &self.connection.base)
            .field("token", &self.token)
            .finish()
    }
}

impl AdminClient {
    /// A client for the server at `url`, pinned to `fingerprint` if given.
    pub fn new(
        url: &str,
        fingerprint: Option<[u8; 32]>,
        admin_token: Token,
        options: &HttpOptions,
    ) -> Result<Self, HttpError> {
        Ok(Self {
            connection: Connection::new(url, fingerprint, options)?,
            token: admin_token,
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.connection.base
    }

    /// `GET /v1/health` (no credential needed).
    pub fn health(&self) -> Result<Health, HttpError> {
        self.connection.json(Method::Get, "/v1/health", None, None)
    }

    /// The SHA-256 fingerprint of the certificate the server at `url`
    /// presents, for a user to confirm before pinning it (`keyset create`
    /// without `#sha256:`). The pinning verifier reports what a server
    /// presented when the pin does not match; a pin of zeros matches no
    /// certificate, so the handshake fails right there with it, and no
    /// request is ever sent unpinned.
    pub fn presented_fingerprint(url: &str, options: &HttpOptions) -> Result<[u8; 32], HttpError> {
        let probe = Self::new(url, Some([0; 32]), Token::new(String::new()), options)?;
        match probe.health() {
            Err(HttpError::PinMismatch {
                presented: Some(presented),
                ..
            }) => crate::encoding::parse_fingerprint(&presented).ok_or(HttpError::Malformed {
                url: url.to_string(),
                reason: "its certificate fingerprint could not be read".into(),
            }),
            Err(e) => Err(e),
            Ok(_) => Err(HttpError::Malformed {
                url: url.to_string(),
                reason: "it accepted a connection that no certificate should pin".into(),
            }),
        }
    }

    /// `GET /metrics` (no credential needed): Prometheus text.
    pub fn metrics(&self) -> Result<String, HttpError> {
        let (_, body) = self.connection.send(Method::Get, "/metrics", None, None)?;
        String::from_utf8(body.to_vec()).map_err(|_| HttpError::Malformed {
            url: self.connection.base.clone(),
            reason: "metrics are not UTF-8".into(),
        })
    }

    /// `GET /v1/keys/{id}`: this server's part of a keyset.
    pub fn key_info(&self, keyset_id_hex: &str) -> Result<KeyInfo, HttpError> {
        let id = path_keyset_id(keyset_id_hex)?;
        self.connection.json(
            Method::Get,
            &format!("/v1/keys/{id}"),
            Some(&self.token),
            None,
        )
    }

    /// `PUT /v1/admin/keys/{id}`: installs this server's share. Idempotent
    /// for the same share; HTTP 409 if a different one is installed.
    pub fn install_share(
        &self,
        keyset_id_hex: &str,
        request: &InstallShareRequest,
    ) -> Result<KeyInfo, HttpError> {
        let id = path_keyset_id(keyset_id_hex)?;
        let body = to_json(request)?;
        self.connection.json(
            Method::Put,
            &format!("/v1/admin/keys/{id}"),
            Some(&self.token),
            Some(&body),
        )
    }

    /// `POST /v1/admin/clients`: creates a client; the answer holds its
    /// token, which the server will never show again.
    pub fn create_client(
        &self,
        request: &CreateClientRequest,
    ) -> Result<CreateClientResponse, HttpError> {
        path_client_name(&request.name)?;
        let body = to_json(request)?;
        self.connection.json(
            Method::Post,
            "/v1/admin/clients",
            Some(&self.token),
            Some(&body),
        )
    }

    /// `DELETE /v1/admin/clients/{name}`: revokes a client's token.
    pub fn revoke_client(&self, name: &str) -> Result<ClientInfo, HttpError> {
        let name = path_client_name(name)?;
        self.connection.json(
            Method::Delete,
            &format!("/v1/admin/clients/{name}"),
            Some(&self.token),
            None,
        )
    }

    /// `GET /v1/admin/clients`: names, grants and revocation, no tokens.
    pub fn list_clients(&self) -> Result<Vec<ClientInfo>, HttpError> {
        let list: ClientList =
            self.connection
                .json(Method::Get, "/v1/admin/clients", Some(&self.token), None)?;
        Ok(list.clients)
    }

    /// `GET /v1/identity` (no credential needed): the server's long-term
    /// identity, read over the pinned TLS connection.
    pub fn identity(&self) -> Result<IdentityPublic, HttpError> {
        let answer: IdentityResponse =
            self.connection
                .json(Method::Get, "/v1/identity", None, None)?;
        IdentityPublic::parse(&answer.identity).map_err(|_| HttpError::Malformed {
            url: self.connection.base.clone(),
            reason: "its identity is not valid".into(),
        })
    }

    /// `POST /v1/admin/lifecycle/{step}`: one step of a lifecycle round
    /// (`deal`, `receive`, `commit`, `abort`).
    pub fn lifecycle<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
        &self,
        step: &str,
        request: &Q,
    ) -> Result<A, HttpError> {
        let body = to_json(request)?;
        self.connection.json(
            Method::Post,
            &format!("/v1/admin/lifecycle/{step}"),
            Some(&self.token),
            Some(&body),
        )
    }

    /// `POST /v1/admin/unseal`: hands the server its unseal secret.
    pub fn unseal(&self, request: &UnsealRequest) -> Result<UnsealResponse, HttpError> {
        let body = to_json(request)?;
        self.connection.json(
            Method::Post,
            "/v1/admin/unseal",
            Some(&self.token),
            Some(&body),
        )
    }
}
