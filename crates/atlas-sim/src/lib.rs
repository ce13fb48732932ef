//! atlas-sim: a simulator of the Atlas Administration API paths the exporter polls, with the real
//! paths, versions, auth schemes and error bodies.
//!
//! It serves `POST /api/oauth/token` (service accounts) and, with bearer tokens or HTTP Digest for API
//! keys, `GET /api/atlas/v2/orgs/{orgId}/invites` (2023-01-01), `GET /api/atlas/v2/orgs/{orgId}/users`
//! (2025-02-19, or the active-users-only 2023-01-01), `GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}`
//! (2024-08-05), `GET /api/atlas/v2/orgs/{orgId}/teams` and `…/groups` (2023-01-01),
//! `GET /api/atlas/v2/groups/{groupId}/invites` (2023-01-01, a project's legacy invitations, under the
//! org that has the project) and `GET /api/atlas/v2/orgs` (2023-01-01), from a
//! [`World`], with scripted [`Fault`]s, per-org [`Behaviour`]s and per-credential [`Grant`]s.
//! While it runs, tests change invitations one at a time ([`Simulator::add_invitation`],
//! [`Simulator::remove_invitation`], [`Simulator::update_invitation`]), and an org's [`Churn`] makes
//! them come and go by itself on a schedule counted from [`Simulator::churn_start`].
//! `--demo` runs it with [`World::demo`]; tests start it on `127.0.0.1:0`, over plain HTTP or, with
//! [`Simulator::start_tls`], over TLS with a certificate the test supplies.
//!
//! It is a crate of its own and depends on nothing of the exporter's: it serialises its own JSON, so a
//! wrong field name in the exporter's wire model cannot pass by being wrong on both sides. The
//! `atlas-sim` binary runs it as a process of its own (`benches/scrape.sh`).
//!
//! Order of checks on the invites and users paths: method (405), org id pattern (400), `Accept` (406),
//! credentials (401), query parameters (400), then a queued fault (one queue per org, shared by both
//! paths), then unknown org (404), sunset invitations endpoint (410), deleted org (404), a credential
//! outside the org (401), a Member on the invites path (403), the org's behaviour (403/429), then 200.
//! Faults are therefore only served to authenticated requests: a Digest challenge never uses one up.
//! The token endpoint checks the method, then the client credentials, then serves a queued fault.
//! `/orgs` checks method, `Accept`, credentials and query, then serves a queued listing fault.
//! Every other org path (`/orgs/{orgId}/…`) checks as these do, with a fault queue and behaviour of
//! its own ([`Simulator::push_path_faults`], [`Simulator::set_path_behaviour`]) unless it shares theirs.
//! `/orgs/{orgId}/serviceAccounts/{clientId}` (scope `serviceAccounts`, Member suffices) answers 404
//! last, after those checks, for a client id that is no service account of the [`World`].
//! `/groups/{groupId}/invites` (named `groups/{groupId}/invites` for faults and behaviours, queued on
//! the org that has the project) answers 404 for a project no org has before any fault, then checks as
//! the invites path does, with [`ProjectAccess`] adding 410 (before roles) and 403 (last).

#![warn(missing_docs)]

mod controls;
mod demo;
mod digest;
mod handler;
mod listing;
mod protocol;
mod response;
mod state;
mod world;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use demo::{
    DEMO_ACME_ACTIVE_USERS, DEMO_CHURN_PERIOD, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
    DEMO_EXPECTED_INVITERS, DEMO_FREE_MAIL_DOMAINS, DEMO_INTERNAL_DOMAIN,
    DEMO_INVITATION_FREE_MAIL_OWNER, DEMO_INVITATION_NO_INVITER,
    DEMO_INVITATION_UNEXPECTED_INVITER, DEMO_INVITATION_UPPERCASE_FREE_MAIL, DEMO_ORG_ACME,
    DEMO_ORG_FORBIDDEN, DEMO_ORG_RATE_LIMITED, DEMO_ORG_SANDBOX, DEMO_ORG_ZURICH,
    DEMO_PARTNER_DOMAIN, DEMO_PRIVATE_KEY, DEMO_PROJECT_FORBIDDEN, DEMO_PROJECT_LEGACY_INVITES,
    DEMO_PUBLIC_KEY, DEMO_SECRET_EXPIRES_IN_DAYS, DEMO_SECRET_ID, DEMO_TEAM_UNLISTED,
    DEMO_UNEXPECTED_INVITER, generated_world, generated_world_with_projects,
};
pub use digest::REALM as DIGEST_REALM;
pub use listing::{DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE};
pub use protocol::{
    ATLAS_MEDIA_TYPE, DEPRECATION, ORG_USERS_MEDIA_TYPE, SERVICE_ACCOUNTS_MEDIA_TYPE, SUNSET,
};
pub use state::{AuthKind, RecordedRequest};
pub use world::{
    Behaviour, Churn, Fault, Grant, INVITATION_LIFETIME_SECS, MIN_CHURN_PERIOD_SECS, OrgRole,
    ProjectAccess, SimInvitation, SimOrg, SimProject, SimServiceAccountSecret, SimTeam, SimTime,
    World, masked_secret_value,
};

use state::{ConnectionControl, SHARED_SCOPE, Shared};

/// A client that connects and never finishes its TLS handshake must not hold a task forever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running simulator. Dropping it stops the server and every open connection.
pub struct Simulator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a JoinSet), so aborting it ends them too.
        self.server.abort();
    }
}

impl Simulator {
    /// Starts on 127.0.0.1 with a port chosen by the system.
    pub async fn start(world: World) -> std::io::Result<Simulator> {
        Simulator::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), world).await
    }

    /// Starts on `addr`; must be called inside a tokio runtime.
    pub async fn start_on(addr: SocketAddr, world: World) -> std::io::Result<Simulator> {
        Simulator::serve(addr, world, None).await
    }

    /// Starts on 127.0.0.1 with a port chosen by the system, serving HTTPS with this certificate chain
    /// and private key (PEM). The base URL is `https://127.0.0.1:PORT`, so the certificate needs the IP
    /// address 127.0.0.1 among its subject alternative names to verify at all. Failed handshakes are
    /// kept (see [`Simulator::tls_failures`]); their connections never reach the request log.
    pub async fn start_tls(world: World, cert_pem: &str, key_pem: &str) -> io::Result<Simulator> {
        let invalid = |what: &str, error: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {error}"))
        };
        let certificates = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid("certificate PEM", &error))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|error| invalid("private key PEM", &error))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid("TLS versions", &error))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|error| invalid("certificate and key", &error))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        Simulator::serve(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            world,
            Some(acceptor),
        )
        .await
    }

    async fn serve(
        addr: SocketAddr,
        world: World,
        tls: Option<TlsAcceptor>,
    ) -> io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared::new(format!("{scheme}://{local_addr}"), world));
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&shared), tls));
        Ok(Simulator {
            shared,
            local_addr,
            server,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` in TLS mode): what the exporter's `atlas.base_url` should be.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The address it listens on (127.0.0.1 and the port chosen, for [`Simulator::start`]).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every request received so far, in order (the most recent 100 000).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.lock().clear_requests();
    }

    /// Adds an organisation, or replaces the one with the same id (its queued faults are kept).
    pub fn add_org(&self, org: SimOrg) {
        let mut state = self.shared.lock();
        let id = org.id.clone();
        state.org_mut(&id).declare(org);
    }

    /// Removes an organisation and its queued faults: it vanishes from `/orgs` and its paths answer 404.
    pub fn remove_org(&self, org_id: &str) {
        self.shared.lock().orgs.remove(org_id);
    }

    /// Marks an org deleted or not (an unknown org is created, named after its id).
    pub fn set_deleted(&self, org_id: &str, is_deleted: bool) {
        self.shared.lock().org_mut(org_id).declared.is_deleted = is_deleted;
    }

    /// Plays an older Atlas for this org's `/users`, or not (see [`SimOrg::legacy_status_filter`]).
    pub fn set_legacy_status_filter(&self, org_id: &str, legacy: bool) {
        self.shared
            .lock()
            .org_mut(org_id)
            .declared
            .legacy_status_filter = legacy;
    }

    /// Makes this org's invitations endpoint answer 410 `VERSION_GONE`, or serve again.
    pub fn set_invites_gone(&self, org_id: &str, gone: bool) {
        self.shared.lock().org_mut(org_id).declared.invites_gone = gone;
    }

    /// Replaces the `Sunset` date of invites listings; None stops both `Sunset` and `Deprecation`.
    pub fn set_invites_sunset(&self, sunset: Option<String>) {
        self.shared.lock().invites_sunset = sunset;
    }

    /// Replaces every grant (see [`World::grants`]); takes effect on the next request.
    pub fn set_grants(&self, grants: Vec<Grant>) {
        self.shared.lock().grants = grants;
    }

    /// Replaces an org's invitations (an unknown org is created, named after its id).
    pub fn set_invitations(&self, org_id: &str, invitations: Vec<SimInvitation>) {
        self.shared.lock().org_mut(org_id).declared.invitations = invitations;
    }

    /// Replaces an org's behaviour (an unknown org is created, named after its id) and restarts its call count.
    pub fn set_behaviour(&self, org_id: &str, behaviour: Behaviour) {
        self.shared
            .lock()
            .org_mut(org_id)
            .set_behaviour(SHARED_SCOPE, behaviour);
    }

    /// Queues faults for an org's authenticated invites and users calls (one queue for both paths), one
    /// per call, before normal service resumes.
    pub fn push_faults(&self, org_id: &str, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .lock()
            .org_mut(org_id)
            .faults_mut(SHARED_SCOPE)
            .extend(faults);
    }

    /// Changes an org's declaration in place (an unknown org is created, named after its id); queued
    /// faults, call counts and buckets stay, as with [`Simulator::add_org`].
    pub fn edit_org(&self, org_id: &str, edit: impl FnOnce(&mut SimOrg)) {
        edit(&mut self.shared.lock().org_mut(org_id).declared);
    }

    /// Queues faults for an org's authenticated calls to `/orgs/{orgId}/{path}` and every path sharing
    /// its scope, one per call (`invites` and `users` share the queue of [`Simulator::push_faults`]);
    /// `path` `groups/{groupId}/invites` (literally) queues them for the invitations of all its projects.
    ///
    /// # Panics
    /// When no org path ends in `path`: a fault queued there would never be served.
    pub fn push_path_faults(
        &self,
        org_id: &str,
        path: &str,
        faults: impl IntoIterator<Item = Fault>,
    ) {
        let scope = scope_of(path);
        self.shared
            .lock()
            .org_mut(org_id)
            .faults_mut(scope)
            .extend(faults);
    }

    /// How many faults queued for `/orgs/{orgId}/{path}` (and the paths sharing its scope) have not been
    /// served yet; 0 for an unknown org or path.
    pub fn pending_path_faults(&self, org_id: &str, path: &str) -> usize {
        let Some(scope) = handler::org_path_scope(path) else {
            return 0;
        };
        self.shared
            .lock()
            .orgs
            .get(org_id)
            .map_or(0, |org| org.pending_faults(scope))
    }

    /// Replaces the behaviour of an org's `/orgs/{orgId}/{path}` and the paths sharing its scope, and
    /// restarts its call count; for `invites` or `users` it is [`Simulator::set_behaviour`]. Other
    /// paths behave normally until this is called.
    ///
    /// # Panics
    /// When no org path ends in `path`.
    pub fn set_path_behaviour(&self, org_id: &str, path: &str, behaviour: Behaviour) {
        let scope = scope_of(path);
        self.shared
            .lock()
            .org_mut(org_id)
            .set_behaviour(scope, behaviour);
    }

    /// How many of an org's queued faults have not been served yet.
    pub fn pending_faults(&self, org_id: &str) -> usize {
        self.shared
            .lock()
            .orgs
            .get(org_id)
            .map_or(0, |org| org.pending_faults(SHARED_SCOPE))
    }

    /// Drops an org's queued faults: its next call is served normally.
    pub fn clear_faults(&self, org_id: &str) {
        if let Some(org) = self.shared.lock().orgs.get_mut(org_id) {
            org.faults_mut(SHARED_SCOPE).clear();
        }
    }

    /// How many queued token faults have not been served yet.
    pub fn pending_token_faults(&self) -> usize {
        self.shared.lock().token_faults.len()
    }

    /// Why each failed TLS handshake failed, oldest first (the most recent 1 000; TLS mode only).
    pub fn tls_failures(&self) -> Vec<String> {
        self.shared.lock().tls_failures()
    }

    /// Queues faults for authenticated `GET /orgs` requests, one per request.
    pub fn push_list_orgs_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().list_orgs_faults.extend(faults);
    }

    /// Queues faults for token requests with valid client credentials, one per request.
    pub fn push_token_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().token_faults.extend(faults);
    }

    /// Every bearer token issued so far (the most recent 10 000), expired or not: tests check none leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued_tokens()
    }

    /// Every issued bearer token becomes invalid: its next use gets 401.
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_tokens();
    }

    /// Every Digest nonce becomes stale: its next use with right credentials gets 401 with `stale=true`.
    pub fn expire_nonces(&self) {
        self.shared.lock().nonces.expire_all();
    }
}

/// The scope of the org path ending in `path`; a test naming no such path is wrong, hence the panic.
fn scope_of(path: &str) -> &'static str {
    handler::org_path_scope(path).unwrap_or_else(|| {
        panic!("the simulator serves no path /api/atlas/v2/orgs/{{orgId}}/{path}")
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let shared = Arc::clone(&shared);
                    let tls = tls.clone();
                    connections.spawn(async move {
                        let control = Arc::new(ConnectionControl::default());
                        let stream = ResettableStream { stream, control: Arc::clone(&control) };
                        let Some(acceptor) = tls else {
                            return serve_connection(stream, shared, control).await;
                        };
                        let failure = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => return serve_connection(stream, shared, control).await,
                            Ok(Err(error)) => error.to_string(),
                            Err(_) => format!("no TLS handshake within {TLS_HANDSHAKE_TIMEOUT:?}"),
                        };
                        tracing::debug!(target: "atlas_simulator", %failure, "TLS handshake failed");
                        shared.lock().record_tls_failure(failure);
                    });
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(target: "atlas_simulator", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection<I>(io: I, shared: Arc<Shared>, control: Arc<ConnectionControl>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        handler::handle(request, Arc::clone(&shared), Arc::clone(&control))
    });
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await
    {
        tracing::debug!(target: "atlas_simulator", %error, "connection ended with an error");
    }
}

/// A TCP connection that ends with a reset (RST) instead of an orderly close (FIN) when its
/// [`ConnectionControl`] asks for one.
struct ResettableStream {
    stream: TcpStream,
    control: Arc<ConnectionControl>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.control.resets_on_close() {
            // SO_LINGER with a zero timeout: close() discards what is unsent and sends RST.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.control.resets_on_close() {
            // A FIN now would let the client see an orderly end before the reset.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
