//! End-to-end tests of the simulator over real sockets on 127.0.0.1, through its public API only,
//! one module per concern.

mod auth;
mod common;
mod faults;
mod invites;
mod orgs;
mod service_accounts;
mod serving;
mod tls;
mod transfer;
mod users;
