//! The simulator's mutable state: organisations, grants, issued tokens, nonces, queued faults, rate-limit
//! buckets and the request log.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::time::Instant;

use crate::digest::NonceStore;
use crate::protocol::{LARGE_RATE_LIMIT_CAPACITY, RATE_LIMIT_CAPACITY, USER_RATE_LIMIT_CAPACITY};
use crate::world::{Behaviour, Fault, Grant, OrgRole, SimOrg, SimServiceAccountSecret, World};

/// How many issued tokens [`State::issued_tokens`] remembers.
const MAX_REMEMBERED_TOKENS: usize = 10_000;
/// How many failed TLS handshakes [`State::tls_failures`] remembers.
const MAX_REMEMBERED_TLS_FAILURES: usize = 1_000;

/// The `Authorization` scheme a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// No `Authorization` header.
    None,
    /// `Basic` (the token request's client credentials).
    Basic,
    /// `Bearer`, a token from the token endpoint.
    Bearer,
    /// `Digest`, an API key.
    Digest,
    /// Some other scheme, or a header that is not visible ASCII.
    Other,
}

impl AuthKind {
    pub(crate) fn of(authorization: Option<&hyper::header::HeaderValue>) -> AuthKind {
        let Some(value) = authorization else {
            return AuthKind::None;
        };
        let Ok(value) = value.to_str() else {
            return AuthKind::Other;
        };
        let scheme = value.trim_start().split(' ').next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("basic") {
            AuthKind::Basic
        } else if scheme.eq_ignore_ascii_case("bearer") {
            AuthKind::Bearer
        } else if scheme.eq_ignore_ascii_case("digest") {
            AuthKind::Digest
        } else {
            AuthKind::Other
        }
    }
}

/// One request as the simulator saw it (credentials are never kept, only their scheme).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string as sent, without the `?`.
    pub query: Option<String>,
    /// The `Authorization` scheme used.
    pub auth: AuthKind,
    /// The status answered; 0 while the answer is pending (a delay) or never comes (a hang).
    pub status: u16,
    /// The `{orgId}` path segment of an org path's request (`/orgs/{orgId}/…`), as sent (even when it is
    /// not a valid id); for a project path (`/groups/{groupId}/…`) the org that has the project, if any.
    pub org_id: Option<String>,
    /// Who made the call, once authenticated: the client_id behind a bearer token or of a token request,
    /// or the public key of a Digest request. None for refused or unauthenticated requests.
    pub credential: Option<String>,
    /// When the request's head had been read.
    pub received_at: std::time::Instant,
    /// The scripted fault this request was served, if any (a spoiled 200 included).
    pub fault: Option<Fault>,
}

/// What the handler may ask of the connection its request came on.
#[derive(Debug, Default)]
pub(crate) struct ConnectionControl {
    reset: AtomicBool,
}

impl ConnectionControl {
    /// When the connection closes, reset it (RST) instead of closing it in order (FIN).
    pub(crate) fn reset_on_close(&self) {
        self.reset.store(true, Ordering::Release);
    }

    pub(crate) fn resets_on_close(&self) -> bool {
        self.reset.load(Ordering::Acquire)
    }
}

/// The fault queue and behaviour count the invites and users paths share ("whichever comes first"), as
/// [`crate::Simulator::push_faults`] and [`SimOrg::behaviour`] promise; other org paths name their own.
pub(crate) const SHARED_SCOPE: &str = "invites and users";

/// Which of an org's Atlas rate-limit buckets a path draws on (only the `RateLimit-…` headers show it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// "Organizations", which `/invites` and `/groups` draw on.
    Organizations,
    /// "MongoDB Cloud Users", which `/users` draws on.
    CloudUsers,
    /// "Teams", which `/teams` draws on.
    Teams,
    /// "Projects", GROUP-scoped: one bucket per project, which `/groups/{groupId}/invites` draws on.
    Projects,
}

impl Bucket {
    /// The bucket's capacity (`RateLimit-Limit`), reference §8 and §12.
    pub(crate) fn capacity(self) -> u32 {
        match self {
            Bucket::Organizations | Bucket::CloudUsers => RATE_LIMIT_CAPACITY,
            Bucket::Teams | Bucket::Projects => LARGE_RATE_LIMIT_CAPACITY,
        }
    }

    /// Tokens added back per minute (reference §8 and §12).
    pub(crate) fn refill_per_minute(self) -> u32 {
        match self {
            Bucket::Organizations | Bucket::CloudUsers => 250,
            Bucket::Teams | Bucket::Projects => 500,
        }
    }

    fn full(self) -> TokenBucket {
        match self {
            Bucket::Organizations | Bucket::CloudUsers => TokenBucket::per_org(),
            Bucket::Teams | Bucket::Projects => {
                TokenBucket::new(self.capacity(), f64::from(self.refill_per_minute()) / 60.0)
            }
        }
    }
}

/// What one scope of an org (the paths that name it) has been scripted to do.
#[derive(Debug, Default)]
struct Scope {
    faults: VecDeque<Fault>,
    /// The behaviour of a scope other than [`SHARED_SCOPE`], whose behaviour is `SimOrg::behaviour`.
    behaviour: Behaviour,
    /// Calls that reached the behaviour (authenticated, no fault served): RateLimitedEvery counts these.
    behaviour_calls: u64,
}

/// An org as the simulator keeps it: the org as declared, replaced whole when it is declared again, and
/// what the simulator scripts or counts on top of it, which a new declaration keeps. Keeping the
/// declaration whole means a new datum of `SimOrg` needs no copying here.
#[derive(Debug)]
pub(crate) struct OrgState {
    pub(crate) declared: SimOrg,
    /// By scope name; created when first used.
    scopes: HashMap<&'static str, Scope>,
    /// Created full when first used, which is how a bucket created with the org would read too; by
    /// bucket and, for a GROUP-scoped one, project id (empty for the org's own).
    buckets: HashMap<(Bucket, String), TokenBucket>,
}

impl OrgState {
    fn named(org_id: &str) -> OrgState {
        OrgState {
            declared: SimOrg::new(org_id, org_id, Vec::new()),
            scopes: HashMap::new(),
            buckets: HashMap::new(),
        }
    }

    /// Takes everything an org declares; queued faults, call counts and buckets stay.
    pub(crate) fn declare(&mut self, org: SimOrg) {
        self.declared = org;
    }

    /// The faults queued for the paths of `scope`.
    pub(crate) fn faults_mut(&mut self, scope: &'static str) -> &mut VecDeque<Fault> {
        &mut self.scopes.entry(scope).or_default().faults
    }

    /// How many faults are queued for the paths of `scope`.
    pub(crate) fn pending_faults(&self, scope: &str) -> usize {
        self.scopes.get(scope).map_or(0, |scope| scope.faults.len())
    }

    /// Replaces the behaviour of `scope` and restarts its call count.
    pub(crate) fn set_behaviour(&mut self, scope: &'static str, behaviour: Behaviour) {
        if scope == SHARED_SCOPE {
            self.declared.behaviour = behaviour;
        }
        let scope = self.scopes.entry(scope).or_default();
        scope.behaviour = behaviour;
        scope.behaviour_calls = 0;
    }

    /// The behaviour of `scope` and its call count, which the caller advances.
    pub(crate) fn behaviour_mut(&mut self, scope: &'static str) -> (Behaviour, &mut u64) {
        let declared = self.declared.behaviour;
        let entry = self.scopes.entry(scope).or_default();
        let behaviour = if scope == SHARED_SCOPE {
            declared
        } else {
            entry.behaviour
        };
        (behaviour, &mut entry.behaviour_calls)
    }

    /// Takes one token from the org's `bucket` and says how many remain.
    pub(crate) fn take_token(&mut self, bucket: Bucket) -> u32 {
        self.take_project_token(bucket, "")
    }

    /// Takes one token from `bucket` of the project `project_id` and says how many remain.
    pub(crate) fn take_project_token(&mut self, bucket: Bucket, project_id: &str) -> u32 {
        self.buckets
            .entry((bucket, project_id.to_owned()))
            .or_insert_with(|| bucket.full())
            .take()
    }
}

/// An Atlas token bucket, only to fill `RateLimit-Remaining` plausibly; it never refuses a call.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    last_refill: Instant,
}

impl TokenBucket {
    /// ORGANIZATION scope: 500, refilled 250 per minute (reference §8).
    fn per_org() -> TokenBucket {
        TokenBucket::new(RATE_LIMIT_CAPACITY, 250.0 / 60.0)
    }

    /// USER scope, as `GET /orgs` uses: 300, refilled 100 per minute (reference §8).
    fn per_user() -> TokenBucket {
        TokenBucket::new(USER_RATE_LIMIT_CAPACITY, 100.0 / 60.0)
    }

    fn new(capacity: u32, refill_per_sec: f64) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            refill_per_sec,
            tokens: f64::from(capacity),
            last_refill: Instant::now(),
        }
    }

    /// Takes one token and says how many remain.
    pub(crate) fn take(&mut self) -> u32 {
        let now = Instant::now();
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        self.tokens = (self.tokens - 1.0).max(0.0);
        self.tokens.floor() as u32
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) orgs: HashMap<String, OrgState>,
    pub(crate) service_accounts: Vec<(String, String)>,
    pub(crate) service_account_secrets: Vec<SimServiceAccountSecret>,
    pub(crate) api_keys: Vec<(String, String)>,
    pub(crate) token_lifetime: Duration,
    pub(crate) nonce_max_uses: Option<u32>,
    pub(crate) grants: Vec<Grant>,
    pub(crate) invites_sunset: Option<String>,
    /// The instant every org's churn schedule counts from: the start, unless a test moves it.
    pub(crate) churn_start: jiff::Timestamp,
    /// Issued bearer tokens: when each stops being accepted, and the client_id it was issued to.
    tokens: HashMap<String, (Instant, String)>,
    /// Every token ever issued, oldest first, for tests that check no token leaks.
    issued_tokens: VecDeque<String>,
    pub(crate) nonces: NonceStore,
    pub(crate) token_faults: VecDeque<Fault>,
    pub(crate) list_orgs_faults: VecDeque<Fault>,
    /// USER-scoped buckets by credential, for `GET /orgs`.
    user_buckets: HashMap<String, TokenBucket>,
    requests: VecDeque<RecordedRequest>,
    /// How many requests the log keeps; a long run forgets the oldest.
    request_log_limit: usize,
    /// Requests dropped from the front of the log, so a sequence number still finds its entry.
    forgotten_requests: u64,
    /// Why TLS handshakes failed, oldest first (TLS mode only).
    tls_failures: VecDeque<String>,
}

impl State {
    pub(crate) fn new(world: World) -> State {
        let mut state = State {
            orgs: HashMap::new(),
            service_accounts: world.service_accounts,
            service_account_secrets: world.service_account_secrets,
            api_keys: world.api_keys,
            token_lifetime: world.token_lifetime,
            nonce_max_uses: world.nonce_max_uses,
            grants: world.grants,
            invites_sunset: world.invites_sunset,
            churn_start: jiff::Timestamp::now(),
            tokens: HashMap::new(),
            issued_tokens: VecDeque::new(),
            nonces: NonceStore::default(),
            token_faults: VecDeque::new(),
            list_orgs_faults: VecDeque::new(),
            user_buckets: HashMap::new(),
            requests: VecDeque::new(),
            request_log_limit: world.request_log_limit.max(1),
            forgotten_requests: 0,
            tls_failures: VecDeque::new(),
        };
        for org in world.orgs {
            let id = org.id.clone();
            state.org_mut(&id).declare(org);
        }
        state
    }

    /// The org, created with its id as name when unknown (so tests can script orgs they did not declare).
    pub(crate) fn org_mut(&mut self, org_id: &str) -> &mut OrgState {
        self.orgs
            .entry(org_id.to_owned())
            .or_insert_with(|| OrgState::named(org_id))
    }

    /// The role `credential` holds in `org_id`, None when it may not see the org at all.
    pub(crate) fn role_of(&self, credential: &str, org_id: &str) -> Option<OrgRole> {
        let mut granted = self
            .grants
            .iter()
            .filter(|grant| grant.credential == credential)
            .peekable();
        if granted.peek().is_none() {
            // Ungranted credentials keep the simulator's original behaviour: Owner everywhere.
            return Some(OrgRole::Owner);
        }
        granted
            .filter(|grant| grant.org_id == org_id)
            .map(|grant| grant.role)
            .max()
    }

    /// The id of the org that has the project `group_id`, the lowest such id should two declare it.
    pub(crate) fn project_owner(&self, group_id: &str) -> Option<&str> {
        self.orgs
            .iter()
            .filter(|(_, org)| {
                org.declared
                    .projects
                    .iter()
                    .any(|project| project.id == group_id)
            })
            .map(|(id, _)| id.as_str())
            .min()
    }

    /// Takes one token from `credential`'s USER-scoped bucket and says how many remain.
    pub(crate) fn take_user_token(&mut self, credential: &str) -> u32 {
        self.user_buckets
            .entry(credential.to_owned())
            .or_insert_with(TokenBucket::per_user)
            .take()
    }

    /// Issues a bearer token to `client_id`, valid for the configured lifetime.
    pub(crate) fn issue_token(&mut self, client_id: &str) -> String {
        let now = Instant::now();
        self.tokens.retain(|_, (valid_until, _)| *valid_until > now);
        let mut bytes = [0u8; 48];
        rand::fill(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let valid_until = now
            .checked_add(self.token_lifetime)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        self.tokens
            .insert(token.clone(), (valid_until, client_id.to_owned()));
        if self.issued_tokens.len() >= MAX_REMEMBERED_TOKENS {
            self.issued_tokens.pop_front();
        }
        self.issued_tokens.push_back(token.clone());
        token
    }

    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.issued_tokens.iter().cloned().collect()
    }

    /// The client_id a still-valid token was issued to.
    pub(crate) fn token_owner(&self, token: &str) -> Option<&str> {
        self.tokens
            .get(token)
            .filter(|(valid_until, _)| *valid_until > Instant::now())
            .map(|(_, client_id)| client_id.as_str())
    }

    pub(crate) fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Logs a request and returns its sequence number, for [`State::set_status`].
    pub(crate) fn record(&mut self, request: RecordedRequest) -> u64 {
        if self.requests.len() >= self.request_log_limit {
            self.requests.pop_front();
            self.forgotten_requests += 1;
        }
        self.requests.push_back(request);
        self.forgotten_requests + self.requests.len() as u64 - 1
    }

    pub(crate) fn set_status(&mut self, sequence: u64, status: u16) {
        if let Some(entry) = self.logged_mut(sequence) {
            entry.status = status;
        }
    }

    pub(crate) fn set_fault(&mut self, sequence: u64, fault: Fault) {
        if let Some(entry) = self.logged_mut(sequence) {
            entry.fault = Some(fault);
        }
    }

    pub(crate) fn record_tls_failure(&mut self, error: String) {
        if self.tls_failures.len() >= MAX_REMEMBERED_TLS_FAILURES {
            self.tls_failures.pop_front();
        }
        self.tls_failures.push_back(error);
    }

    pub(crate) fn tls_failures(&self) -> Vec<String> {
        self.tls_failures.iter().cloned().collect()
    }

    pub(crate) fn set_credential(&mut self, sequence: u64, credential: &str) {
        if let Some(entry) = self.logged_mut(sequence) {
            entry.credential = Some(credential.to_owned());
        }
    }

    fn logged_mut(&mut self, sequence: u64) -> Option<&mut RecordedRequest> {
        let index = sequence.checked_sub(self.forgotten_requests)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| self.requests.get_mut(i))
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&mut self) {
        self.forgotten_requests += self.requests.len() as u64;
        self.requests.clear();
    }
}

/// The state behind a mutex, plus what never changes after start.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) base_url: String,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(base_url: String, world: World) -> Shared {
        Shared {
            base_url,
            state: Mutex::new(State::new(world)),
        }
    }

    /// Locks the state. A panic elsewhere while holding the lock must not stop the simulator answering.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
