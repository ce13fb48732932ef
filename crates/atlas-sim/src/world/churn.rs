//! Churn: invitations an organisation gains and loses on a repeating schedule counted from the
//! simulator's start, so that a demo shows invitations being created, accepted, revoked and expiring
//! between polls without anyone scripting it.

use std::time::Duration;

use jiff::Timestamp;

use super::invitation::{INVITATION_LIFETIME_SECS, SimInvitation, SimTime};

/// The shortest period served: each event sits on a whole eighth of it, and a shorter one would put
/// two events on the same second.
pub const MIN_CHURN_PERIOD_SECS: u64 = 8;

/// A repeating schedule of three invitations per cycle (cycle `k` starts `k × period` after the
/// simulator's start), each one event of the exporter's lifecycle, at whole eighths of the period
/// (`P` below):
///
/// | kind | listed from | listed until | so it is |
/// |---|---|---|---|
/// | expires | 0 | 6/8 P | expired at 2/8 P while listed (sent 30 days before that), then forgotten |
/// | accepted | 1/8 P | 4/8 P | created at 1/8 P, accepted (gone) at 4/8 P, long before its expiry |
/// | revoked | 3/8 P | 5/8 P | created at 3/8 P, revoked (gone) at 5/8 P, long before its expiry |
///
/// Nothing is listed from 6/8 P to the next cycle, so no invitation outlives its cycle. Ids end in the
/// cycle number (8 hex digits, after a kind byte `c1`/`c2`/`c3`) and begin with the org id's last 14
/// digits, so every appearance is a new id and no two orgs share one. The expiring one is first listed
/// already 30 days old: the demo compresses its life into its last minutes. Accepted and revoked look
/// alike on the wire (the invitation is gone); only the invitee's name tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Churn {
    /// How long one cycle lasts (at least [`MIN_CHURN_PERIOD_SECS`]; whole seconds count).
    pub period: Duration,
}

/// What one churned invitation does in its cycle (see [`Churn`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Expires,
    Accepted,
    Revoked,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Expires, Kind::Accepted, Kind::Revoked];

    /// When it is listed, in eighths of the period from its cycle's start: `[from, until)`.
    fn listed_eighths(self) -> (i64, i64) {
        match self {
            Kind::Expires => (0, 6),
            Kind::Accepted => (1, 4),
            Kind::Revoked => (3, 5),
        }
    }

    /// The id's kind byte: `c` for churn, never one of the generated members' (`e0`, `ac`).
    fn id_byte(self) -> u8 {
        match self {
            Kind::Expires => 0xc1,
            Kind::Accepted => 0xc2,
            Kind::Revoked => 0xc3,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Expires => "expires",
            Kind::Accepted => "accepted",
            Kind::Revoked => "revoked",
        }
    }
}

impl Churn {
    /// A churn repeating every `period`.
    pub fn every(period: Duration) -> Churn {
        Churn { period }
    }

    /// The period in whole seconds, raised to [`MIN_CHURN_PERIOD_SECS`].
    fn period_secs(self) -> i64 {
        let secs = self.period.as_secs().max(MIN_CHURN_PERIOD_SECS);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// The churned invitations of org `org_id` listed at `now` for a simulator started at `started`,
    /// with fixed dates (so a listing's dates do not move between polls). None before `started`.
    pub fn invitations_at(
        self,
        org_id: &str,
        started: Timestamp,
        now: Timestamp,
    ) -> Vec<SimInvitation> {
        let period = self.period_secs();
        let since = now.as_second().saturating_sub(started.as_second());
        if since < 0 {
            return Vec::new();
        }
        let cycle = since / period;
        let offset = since % period;
        let cycle_start = started
            .as_second()
            .saturating_add(cycle.saturating_mul(period));
        let eighth = |n: i64| period.saturating_mul(n) / 8;
        Kind::ALL
            .into_iter()
            .filter(|kind| {
                let (from, until) = kind.listed_eighths();
                (eighth(from)..eighth(until)).contains(&offset)
            })
            .map(|kind| {
                let (from, _) = kind.listed_eighths();
                // The expiring one's life ends at 2/8; the others' begins when they are first listed.
                let (created, expires) = match kind {
                    Kind::Expires => {
                        let expiry = cycle_start.saturating_add(eighth(2));
                        (expiry.saturating_sub(INVITATION_LIFETIME_SECS), expiry)
                    }
                    Kind::Accepted | Kind::Revoked => {
                        let sent = cycle_start.saturating_add(eighth(from));
                        (sent, sent.saturating_add(INVITATION_LIFETIME_SECS))
                    }
                };
                SimInvitation::sent_ago(
                    churn_id(org_id, kind, cycle),
                    format!("churn.{}.{cycle}@example.com", kind.word()),
                    0,
                )
                .with_dates(SimTime::At(second(created)), SimTime::At(second(expires)))
            })
            .collect()
    }
}

/// A timestamp from seconds, clamped to jiff's range rather than failing.
fn second(seconds: i64) -> Timestamp {
    let clamped = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(clamped).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The org id's last 14 digits (zeros for an id that is not 24 hex digits), the kind byte and the
/// cycle number's low 32 bits: 24 lowercase hex digits.
fn churn_id(org_id: &str, kind: Kind, cycle: i64) -> String {
    let org_part = org_id
        .get(10..)
        .filter(|part| org_id.len() == 24 && part.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(|| "0".repeat(14), str::to_ascii_lowercase);
    let cycle = u64::try_from(cycle).unwrap_or(0) & 0xffff_ffff;
    format!("{org_part}{:02x}{cycle:08x}", kind.id_byte())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "6523f1a0c8e4b2d9f0a1b002";

    fn start() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn at(seconds_after_start: i64) -> Timestamp {
        Timestamp::from_second(start().as_second() + seconds_after_start).unwrap()
    }

    /// The kind words of what is listed `seconds_after_start` into a 4-minute churn.
    fn listed(seconds_after_start: i64) -> Vec<String> {
        Churn::every(Duration::from_secs(240))
            .invitations_at(ORG, start(), at(seconds_after_start))
            .iter()
            .map(|i| i.username.split('.').nth(1).unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_cycle_lists_each_kind_in_its_eighths_and_then_nothing() {
        for (second, expected) in [
            (0, &["expires"][..]),
            (29, &["expires"]),
            (30, &["expires", "accepted"]),
            (89, &["expires", "accepted"]),
            (90, &["expires", "accepted", "revoked"]),
            (119, &["expires", "accepted", "revoked"]),
            (120, &["expires", "revoked"]),
            (149, &["expires", "revoked"]),
            (150, &["expires"]),
            (179, &["expires"]),
            (180, &[]),
            (239, &[]),
            (240, &["expires"]),
            (240 * 1000 + 95, &["expires", "accepted", "revoked"]),
        ] {
            assert_eq!(listed(second), expected, "{second} s after the start");
        }
        assert_eq!(listed(-1), Vec::<String>::new(), "nothing before the start");
    }

    #[test]
    fn the_expiring_one_expires_while_listed_and_the_others_leave_before_expiring() {
        let churn = Churn::every(Duration::from_secs(240));
        let seen = |second: i64| churn.invitations_at(ORG, start(), at(second));
        let expiring = &seen(0)[0];
        assert_eq!(expiring.expires.resolve(at(0)), at(60));
        assert_eq!(
            at(60).as_second() - expiring.created.resolve(at(0)).as_second(),
            INVITATION_LIFETIME_SECS
        );
        // Still listed, same id, after its expiry.
        let later = seen(61);
        assert_eq!(later[0].id, expiring.id);
        assert!(later[0].expires.resolve(at(61)) < at(61));
        // Dates are fixed: a later poll serves the same ones.
        assert_eq!(later[0], *expiring);

        let accepted = &seen(30)[1];
        assert_eq!(accepted.created.resolve(at(119)), at(30));
        assert!(accepted.expires.resolve(at(119)) > at(119));
        assert!(seen(120).iter().all(|i| i.id != accepted.id));
        let revoked = &seen(90)[2];
        assert_eq!(revoked.created.resolve(at(90)), at(90));
        assert!(seen(150).iter().all(|i| i.id != revoked.id));
        assert!(seen(90).iter().all(|i| i.org_roles == ["ORG_MEMBER"]));
    }

    #[test]
    fn ids_are_new_each_cycle_end_in_the_cycle_and_differ_across_orgs() {
        let churn = Churn::every(Duration::from_secs(240));
        let ids = |org: &str, second: i64| -> Vec<String> {
            churn
                .invitations_at(org, start(), at(second))
                .into_iter()
                .map(|i| i.id)
                .collect()
        };
        assert_eq!(
            ids(ORG, 95),
            [
                "e4b2d9f0a1b002c100000000",
                "e4b2d9f0a1b002c200000000",
                "e4b2d9f0a1b002c300000000"
            ]
        );
        assert_eq!(
            ids(ORG, 240 * 0x1234 + 95),
            [
                "e4b2d9f0a1b002c100001234",
                "e4b2d9f0a1b002c200001234",
                "e4b2d9f0a1b002c300001234"
            ]
        );
        assert_eq!(
            ids("6523f1a0c8e4b2d9f0a1b003", 0),
            ["e4b2d9f0a1b003c100000000"]
        );
        assert_eq!(ids("not-an-id", 0), ["00000000000000c100000000"]);
        assert_eq!(
            ids("6523F1A0C8E4B2D9F0A1B00É", 0),
            ["00000000000000c100000000"]
        );
    }

    #[test]
    fn short_periods_are_raised_and_extreme_times_do_not_panic() {
        let zero = Churn::every(Duration::ZERO);
        // 8 s: expires listed 0..6, accepted 1..4, revoked 3..5.
        let count = |second| zero.invitations_at(ORG, start(), at(second)).len();
        assert_eq!(
            (count(0), count(3), count(5), count(6), count(8)),
            (1, 3, 1, 0, 1)
        );
        let huge = Churn::every(Duration::MAX);
        assert_eq!(huge.invitations_at(ORG, start(), at(0)).len(), 1);
        for (started, now) in [
            (Timestamp::MIN, Timestamp::MAX),
            (Timestamp::MAX, Timestamp::MIN),
            (Timestamp::MAX, Timestamp::MAX),
        ] {
            let _ = zero.invitations_at(ORG, started, now);
            let _ = huge.invitations_at(ORG, started, now);
        }
    }
}
