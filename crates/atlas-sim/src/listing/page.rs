//! What the paginated listings share: query-parameter validation, `itemsPerPage`/`pageNum` pages,
//! their links, and the `Paginated…View` envelope.

use serde::Serialize;

use crate::response::Link;

/// `itemsPerPage` when absent (reference §4, §5).
pub const DEFAULT_ITEMS_PER_PAGE: usize = 100;
/// The largest `itemsPerPage` Atlas accepts (reference §4, §5).
pub const MAX_ITEMS_PER_PAGE: usize = 500;

/// A query Atlas would refuse with 400 `VALIDATION_ERROR`; the text is the ApiError detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidQuery(pub(crate) String);

/// The values of `key`, in the order sent.
pub(super) fn values<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The value of a parameter that may appear at most once.
pub(super) fn single<'a>(
    pairs: &'a [(String, String)],
    key: &str,
) -> Result<Option<&'a str>, InvalidQuery> {
    match values(pairs, key).as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value)),
        _ => Err(InvalidQuery(format!(
            "Request query parameter {key} may be given only once."
        ))),
    }
}

fn boolean(pairs: &[(String, String)], key: &str, default: bool) -> Result<bool, InvalidQuery> {
    match single(pairs, key)? {
        None => Ok(default),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(value) => Err(InvalidQuery(format!(
            "Invalid value {value} for request query parameter {key}: it must be true or false."
        ))),
    }
}

fn integer(
    pairs: &[(String, String)],
    key: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, InvalidQuery> {
    let Some(value) = single(pairs, key)? else {
        return Ok(default);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            InvalidQuery(format!(
                "Invalid value {value} for request query parameter {key}: it must be an integer from {} to {}.",
                range.start(),
                range.end()
            ))
        })
}

/// The pagination parameters the paginated listings share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) items_per_page: usize,
    pub(crate) page_num: usize,
    pub(crate) include_count: bool,
    pub(crate) pretty: bool,
}

impl Page {
    pub(crate) fn from_query(pairs: &[(String, String)]) -> Result<Page, InvalidQuery> {
        Ok(Page {
            items_per_page: integer(
                pairs,
                "itemsPerPage",
                DEFAULT_ITEMS_PER_PAGE,
                1..=MAX_ITEMS_PER_PAGE,
            )?,
            page_num: integer(pairs, "pageNum", 1, 1..=usize::MAX)?,
            include_count: boolean(pairs, "includeCount", true)?,
            pretty: boolean(pairs, "pretty", false)?,
        })
    }

    /// This page's share of `items`; empty past the end, as Atlas answers.
    pub(crate) fn window<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self
            .page_num
            .saturating_sub(1)
            .saturating_mul(self.items_per_page)
            .min(items.len());
        let end = start.saturating_add(self.items_per_page).min(items.len());
        &items[start..end]
    }

    /// `self`, then `previous` and `next` where such pages exist. Which rels Atlas sends is unconfirmed
    /// (reference §4); the exporter must not need them. The other query parameters are kept as sent.
    pub(crate) fn links(
        &self,
        resource_url: &str,
        raw_query: Option<&str>,
        total: usize,
    ) -> Vec<Link> {
        let kept: Vec<&str> = raw_query
            .unwrap_or("")
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && key != "pageNum" && key != "itemsPerPage"
            })
            .collect();
        let href = |page_num: usize| {
            let mut query = kept.join("&");
            if !query.is_empty() {
                query.push('&');
            }
            format!(
                "{resource_url}?{query}pageNum={page_num}&itemsPerPage={}",
                self.items_per_page
            )
        };
        let mut links = vec![Link {
            href: href(self.page_num),
            rel: "self",
        }];
        if self.page_num > 1 {
            links.push(Link {
                href: href(self.page_num - 1),
                rel: "previous",
            });
        }
        if self.page_num.saturating_mul(self.items_per_page) < total {
            links.push(Link {
                href: href(self.page_num.saturating_add(1)),
                rel: "next",
            });
        }
        links
    }
}

// So that a listing whose query is its page alone needs no query type of its own.
impl AsRef<Page> for Page {
    fn as_ref(&self) -> &Page {
        self
    }
}

/// `PaginatedOrgUserView`, `PaginatedAppUserView` and `PaginatedOrganizationView` alike.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Paginated<T> {
    links: Vec<Link>,
    results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_count: Option<usize>,
}

/// One page of `items` in its envelope, as a JSON value so that a fault can spoil it.
pub(crate) fn paginate<T: Serialize>(
    items: &[T],
    page: &Page,
    resource_url: &str,
    raw_query: Option<&str>,
) -> serde_json::Value {
    let envelope = Paginated {
        links: page.links(resource_url, raw_query, items.len()),
        results: page.window(items).iter().collect(),
        total_count: page.include_count.then_some(items.len()),
    };
    // Only non-string map keys make serialisation fail, and these types have none.
    serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect()
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::from_query(&[]),
            Ok(Page {
                items_per_page: 100,
                page_num: 1,
                include_count: true,
                pretty: false
            })
        );
        let page = Page::from_query(&pairs(
            "itemsPerPage=500&pageNum=3&includeCount=FALSE&pretty=true",
        ))
        .unwrap();
        assert_eq!(
            (page.items_per_page, page.page_num, page.include_count),
            (500, 3, false)
        );
        for bad in [
            "itemsPerPage=0",
            "itemsPerPage=501",
            "itemsPerPage=-1",
            "itemsPerPage=ten",
            "pageNum=0",
            "includeCount=yes",
            "pageNum=1&pageNum=2",
        ] {
            assert!(Page::from_query(&pairs(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn window_is_exact_at_the_boundaries() {
        let items: Vec<u32> = (0..10).collect();
        let page = |page_num| Page {
            items_per_page: 5,
            page_num,
            include_count: true,
            pretty: false,
        };
        assert_eq!(page(1).window(&items), &[0, 1, 2, 3, 4]);
        assert_eq!(page(2).window(&items), &[5, 6, 7, 8, 9]);
        assert!(page(3).window(&items).is_empty());
        assert!(page(usize::MAX).window(&items).is_empty());
    }

    #[test]
    fn links_keep_other_parameters_and_point_both_ways() {
        let page = Page {
            items_per_page: 2,
            page_num: 2,
            include_count: true,
            pretty: false,
        };
        let links = page.links(
            "http://x/api/atlas/v2/orgs/o/users",
            Some("orgMembershipStatuses=PENDING&pageNum=2&itemsPerPage=2&orgMembershipStatuses=ACTIVE"),
            5,
        );
        let shown: Vec<(&str, &str)> = links.iter().map(|l| (l.rel, l.href.as_str())).collect();
        let url = "http://x/api/atlas/v2/orgs/o/users?orgMembershipStatuses=PENDING&orgMembershipStatuses=ACTIVE";
        assert_eq!(
            shown,
            [
                ("self", format!("{url}&pageNum=2&itemsPerPage=2").as_str()),
                (
                    "previous",
                    format!("{url}&pageNum=1&itemsPerPage=2").as_str()
                ),
                ("next", format!("{url}&pageNum=3&itemsPerPage=2").as_str()),
            ]
        );
        let last = Page {
            page_num: 3,
            ..page
        };
        assert!(
            last.links("u", None, 5)
                .iter()
                .all(|link| link.rel != "next")
        );
        let first = Page {
            page_num: 1,
            ..page
        };
        assert_eq!(first.links("u", None, 2).len(), 1, "exactly one full page");
    }
}
