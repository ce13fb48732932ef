//! End-to-end tests of the simulator over real sockets on 127.0.0.1, through its public API only,
//! one module per concern.

mod auth;
mod common;
mod demo;
mod faults;
mod group_invites;
mod groups;
mod inviters;
mod invites;
mod lifecycle;
mod orgs;
mod seats;
mod service_accounts;
mod serving;
mod teams;
mod tls;
mod transfer;
mod users;
