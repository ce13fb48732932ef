//! The simulator's mutable state: organisations, issued tokens, nonces, queued faults and the request log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::time::Instant;

use super::digest::NonceStore;
use super::world::{Behaviour, Fault, SimInvitation, World};

/// How many requests the log keeps; a long demo run forgets the oldest.
const MAX_LOGGED_REQUESTS: usize = 100_000;
/// How many issued tokens [`State::issued_tokens`] remembers.
const MAX_REMEMBERED_TOKENS: usize = 10_000;

/// The `Authorization` scheme a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    None,
    Basic,
    Bearer,
    Digest,
    /// Some other scheme, or a header that is not visible ASCII.
    Other,
}

impl AuthKind {
    pub(super) fn of(authorization: Option<&hyper::header::HeaderValue>) -> AuthKind {
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
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub auth: AuthKind,
    /// The status answered; 0 while the answer is pending (a delay) or never comes (a hang).
    pub status: u16,
    /// The `{orgId}` path segment of an invites request, as sent (even when it is not a valid id).
    pub org_id: Option<String>,
}

#[derive(Debug)]
pub(super) struct OrgState {
    pub name: String,
    pub invitations: Vec<SimInvitation>,
    pub behaviour: Behaviour,
    pub faults: VecDeque<Fault>,
    /// Calls that reached the behaviour (authenticated, no fault served): RateLimitedEvery counts these.
    pub behaviour_calls: u64,
    pub bucket: TokenBucket,
}

/// Atlas's per-org token bucket, only to fill `RateLimit-Remaining` plausibly; it never refuses a call.
#[derive(Debug)]
pub(super) struct TokenBucket {
    tokens: f64,
    last_refill: Instant,
}

impl TokenBucket {
    const CAPACITY: f64 = super::response::RATE_LIMIT_CAPACITY as f64;
    const REFILL_PER_SEC: f64 = 250.0 / 60.0;

    fn new() -> TokenBucket {
        TokenBucket {
            tokens: Self::CAPACITY,
            last_refill: Instant::now(),
        }
    }

    /// Takes one token and says how many remain.
    pub fn take(&mut self) -> u32 {
        let now = Instant::now();
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.last_refill = now;
        self.tokens = (self.tokens + elapsed * Self::REFILL_PER_SEC).min(Self::CAPACITY);
        self.tokens = (self.tokens - 1.0).max(0.0);
        self.tokens.floor() as u32
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub orgs: HashMap<String, OrgState>,
    pub service_accounts: Vec<(String, String)>,
    pub api_keys: Vec<(String, String)>,
    pub token_lifetime: Duration,
    pub nonce_max_uses: Option<u32>,
    /// Issued bearer tokens and when they stop being accepted.
    tokens: HashMap<String, Instant>,
    /// Every token ever issued, oldest first, for tests that check no token leaks.
    issued_tokens: VecDeque<String>,
    pub nonces: NonceStore,
    pub token_faults: VecDeque<Fault>,
    requests: VecDeque<RecordedRequest>,
    /// Requests dropped from the front of the log, so a sequence number still finds its entry.
    forgotten_requests: u64,
}

impl State {
    pub fn new(world: World) -> State {
        let orgs = world
            .orgs
            .into_iter()
            .map(|org| {
                let state = OrgState {
                    name: org.name,
                    invitations: org.invitations,
                    behaviour: org.behaviour,
                    faults: VecDeque::new(),
                    behaviour_calls: 0,
                    bucket: TokenBucket::new(),
                };
                (org.id, state)
            })
            .collect();
        State {
            orgs,
            service_accounts: world.service_accounts,
            api_keys: world.api_keys,
            token_lifetime: world.token_lifetime,
            nonce_max_uses: world.nonce_max_uses,
            tokens: HashMap::new(),
            issued_tokens: VecDeque::new(),
            nonces: NonceStore::default(),
            token_faults: VecDeque::new(),
            requests: VecDeque::new(),
            forgotten_requests: 0,
        }
    }

    /// The org, created with its id as name when unknown (so tests can script orgs they did not declare).
    pub fn org_mut(&mut self, org_id: &str) -> &mut OrgState {
        self.orgs
            .entry(org_id.to_owned())
            .or_insert_with(|| OrgState {
                name: org_id.to_owned(),
                invitations: Vec::new(),
                behaviour: Behaviour::Normal,
                faults: VecDeque::new(),
                behaviour_calls: 0,
                bucket: TokenBucket::new(),
            })
    }

    /// Issues a bearer token valid for the configured lifetime.
    pub fn issue_token(&mut self) -> String {
        let now = Instant::now();
        self.tokens.retain(|_, valid_until| *valid_until > now);
        let mut bytes = [0u8; 48];
        rand::fill(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let valid_until = now
            .checked_add(self.token_lifetime)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        self.tokens.insert(token.clone(), valid_until);
        if self.issued_tokens.len() >= MAX_REMEMBERED_TOKENS {
            self.issued_tokens.pop_front();
        }
        self.issued_tokens.push_back(token.clone());
        token
    }

    pub fn issued_tokens(&self) -> Vec<String> {
        self.issued_tokens.iter().cloned().collect()
    }

    pub fn token_is_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|valid_until| *valid_until > Instant::now())
    }

    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Logs a request and returns its sequence number, for [`State::set_status`].
    pub fn record(&mut self, request: RecordedRequest) -> u64 {
        if self.requests.len() >= MAX_LOGGED_REQUESTS {
            self.requests.pop_front();
            self.forgotten_requests += 1;
        }
        self.requests.push_back(request);
        self.forgotten_requests + self.requests.len() as u64 - 1
    }

    pub fn set_status(&mut self, sequence: u64, status: u16) {
        let Some(index) = sequence.checked_sub(self.forgotten_requests) else {
            return;
        };
        if let Some(entry) = usize::try_from(index)
            .ok()
            .and_then(|i| self.requests.get_mut(i))
        {
            entry.status = status;
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.iter().cloned().collect()
    }

    pub fn clear_requests(&mut self) {
        self.forgotten_requests += self.requests.len() as u64;
        self.requests.clear();
    }
}

/// The state behind a mutex, plus what never changes after start.
#[derive(Debug)]
pub(super) struct Shared {
    pub base_url: String,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(base_url: String, world: World) -> Shared {
        Shared {
            base_url,
            state: Mutex::new(State::new(world)),
        }
    }

    /// Locks the state. A panic elsewhere while holding the lock must not stop the simulator answering.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
