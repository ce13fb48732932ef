//! `[sharding]`: `total` and `index` only together, and the index below the total, read from the
//! StatefulSet ordinal in `HOSTNAME` when configured as `from_hostname`.

use figment::value::{Dict, Tag, Value};

use super::check::{Checker, Typed};
use super::keys;
use super::kind::FROM_HOSTNAME;
use super::rules::hostname_ordinal;
use super::settings::Sharding;

const HOSTNAME: &str = "HOSTNAME";
const INDEX: &str = "sharding.index";

impl Checker<'_> {
    /// `None` when neither key is set; a configured `total = 1` is still `Some`.
    pub(crate) fn sharding(&mut self, table: &Dict) -> Option<Sharding> {
        let total_value = table.get("total");
        let index_value = table.get("index");
        let total: Option<u32> = match (total_value, index_value) {
            (None, None) => return None,
            (None, Some(index)) => {
                self.push(
                    "sharding.total",
                    index.tag(),
                    "missing: sharding.index is set, so sharding.total (the number of replicas) is needed too",
                );
                None
            }
            (Some(_), _) => self.get(table, "sharding.total"),
        };
        let index = match index_value {
            None => {
                let tag = total_value.map_or(Tag::Default, Value::tag);
                self.push(
                    INDEX,
                    tag,
                    format!(
                        "missing: sharding.total is set, so sharding.index is needed too: a number from 0 to total - 1, or {FROM_HOSTNAME:?}"
                    ),
                );
                None
            }
            Some(value) => self.shard_index(value, total),
        };
        Some(Sharding {
            total: total?,
            index: index?,
        })
    }

    /// `sharding.index`: a number, or the StatefulSet ordinal in `HOSTNAME`. Compared with `total`
    /// only when that is valid, so a bad total is not reported twice.
    fn shard_index(&mut self, value: &Value, total: Option<u32>) -> Option<u32> {
        let kind = keys::key(INDEX)?.kind;
        let (index, origin) = match self.check(INDEX, &kind, value)? {
            Typed::Integer(index) => {
                let Ok(index) = u32::try_from(index) else {
                    self.push(INDEX, value.tag(), format!("{index} is too large"));
                    return None;
                };
                (index, format!("found {index}"))
            }
            _ => {
                let hostname = match self.env.var(HOSTNAME) {
                    Ok(hostname) => hostname.trim().to_owned(),
                    Err(problem) => {
                        self.push(
                            INDEX,
                            value.tag(),
                            format!(
                                "{FROM_HOSTNAME:?} reads the StatefulSet ordinal from {HOSTNAME}, but {problem}"
                            ),
                        );
                        return None;
                    }
                };
                let Some(ordinal) = hostname_ordinal(&hostname) else {
                    self.push(
                        INDEX,
                        value.tag(),
                        format!(
                            "{FROM_HOSTNAME:?}: {HOSTNAME} {hostname:?} does not end in -<ordinal> like a StatefulSet pod (atlas-invites-exporter-2)"
                        ),
                    );
                    return None;
                };
                (
                    ordinal,
                    format!("{HOSTNAME} {hostname:?} gives ordinal {ordinal}"),
                )
            }
        };
        if let Some(total) = total
            && index >= total
        {
            self.push(
                INDEX,
                value.tag(),
                format!(
                    "must be below sharding.total ({total}): {origin}; every replica needs its own index from 0 to {}",
                    total - 1
                ),
            );
            return None;
        }
        Some(index)
    }
}
