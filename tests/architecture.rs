//! The import rules of docs/architecture.md, checked on the source: no two files import each other,
//! the stages keep their boundaries, and the Atlas crates depend on no exporter code.
//!
//! A file imports another when it names an item of the other's module: through `use`, a path in the
//! code (`crate::…`, `super::…`, a child module's name), or a re-export that leads there (a path through
//! a `mod.rs` that merely re-exports a sibling's item counts as naming the sibling). Test code, the
//! `#[cfg(test)] mod tests { … }` at the end of a file, is left out: a test module reads its parent.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CRATES: [&str; 3] = [".", "crates/atlas-client", "crates/atlas-sim"];

/// One module: its path below the crate root, the file that holds it, and its code.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    code: String,
}

/// The modules of the library crate whose root is `src/lib.rs` under `crate_dir`.
fn modules(crate_dir: &Path) -> Vec<Module> {
    let src = crate_dir.join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter(|file| file.parent() != Some(&src.join("bin")) && !file.ends_with("src/main.rs"))
        .map(|file| {
            let relative = file.strip_prefix(&src).unwrap();
            let mut path: Vec<String> = relative
                .iter()
                .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            let code = without_tests(&strip_comments_and_strings(
                &fs::read_to_string(&file).unwrap(),
            ));
            Module { path, file, code }
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The code with comments removed and string and char literals emptied, so that neither a doc
/// comment nor a string that mentions `crate::x` counts as an import.
fn strip_comments_and_strings(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && !bytes[..i]
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let close: String = std::iter::once('"')
                    .chain("#".repeat(hashes).chars())
                    .collect();
                let start = i + 2 + hashes;
                let end = text[start..]
                    .find(&close)
                    .map_or(bytes.len(), |at| start + at + close.len());
                out.push_str("\"\"");
                i = end;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('x', '\n', '\''), not a lifetime ('a).
            b'\'' if bytes.get(i + 2) == Some(&b'\'') || bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            _ => {
                let len = text[i..].chars().next().unwrap().len_utf8();
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    out
}

/// The code before a trailing `#[cfg(test)] mod … {`.
fn without_tests(code: &str) -> String {
    let mut rest = code;
    let mut kept = 0;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let line = after.lines().next().unwrap_or("");
        if line.starts_with("mod ") && line.trim_end().ends_with('{') {
            return code[..kept + at].to_owned();
        }
        kept += at + 1;
        rest = &rest[at + 1..];
    }
    code.to_owned()
}

/// Every `a::b::c` path in the code: first those of `use` trees, expanded (`use a::{b, c::d}` is
/// `a::b` and `a::c::d`), then those written in the code.
fn paths(code: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut found = Vec::new();
    let mut rest = code;
    // `use` trees first, then blank them out so their fragments are not read again below.
    let mut plain = String::with_capacity(code.len());
    while let Some(at) = find_word(rest, "use") {
        plain.push_str(&rest[..at]);
        let end = rest[at..]
            .find(';')
            .map_or(rest.len(), |semi| at + semi + 1);
        // `a as b` becomes `a@b`, then no whitespace is left to trip the expansion.
        let words: Vec<&str> = rest[at + 3..end - 1].split_whitespace().collect();
        let tree = words.join(" ").replace(" as ", "@").replace(' ', "");
        expand(&tree, &mut Vec::new(), &mut found);
        plain.push(';');
        rest = &rest[end..];
    }
    plain.push_str(rest);
    let uses = std::mem::take(&mut found);
    let bytes = plain.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_ident_start(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1])) {
            let mut path = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < bytes.len() && is_ident(bytes[j]) {
                    j += 1;
                }
                path.push(plain[start..j].to_owned());
                if plain[j..].starts_with("::")
                    && bytes.get(j + 2).is_some_and(|b| is_ident_start(*b))
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if path.len() > 1 {
                found.push(path);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    (uses, found)
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = at == 0 || !is_ident(bytes[at - 1]);
        let after = bytes
            .get(at + word.len())
            .is_some_and(|b| b.is_ascii_whitespace());
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Expands one `use` tree below `prefix`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim_start_matches("::");
    match tree.find(['{', ':']) {
        Some(at) if tree[at..].starts_with('{') => {
            let group = &tree[at + 1..tree.rfind('}').unwrap_or(tree.len())];
            let head: Vec<String> = tree[..at]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let depth = prefix.len();
            prefix.extend(head);
            for item in split_top_level(group) {
                expand(item, prefix, out);
            }
            prefix.truncate(depth);
        }
        Some(at) => {
            prefix.push(tree[..at].to_owned());
            expand(&tree[at + 2..], prefix, out);
            prefix.pop();
        }
        None => {
            let name = tree.split('@').next().unwrap_or(tree);
            let mut path = prefix.clone();
            if !name.is_empty() && name != "self" && name != "*" {
                path.push(name.to_owned());
            }
            out.push(path);
        }
    }
}

fn split_top_level(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items.into_iter().filter(|item| !item.is_empty()).collect()
}

/// Which file imports which, in one crate: module path → the module paths it names.
struct Graph {
    files: BTreeMap<Vec<String>, PathBuf>,
    imports: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

impl Graph {
    fn of(crate_dir: &Path) -> Graph {
        let modules = modules(crate_dir);
        let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
        // What each module brings into scope with `use`: name → absolute path.
        let scopes: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = modules
            .iter()
            .map(|m| {
                let mut scope = BTreeMap::new();
                for path in paths(&m.code).0 {
                    if let Some(absolute) = absolute(&m.path, &path, &known) {
                        scope.insert(path.last().unwrap().clone(), absolute);
                    }
                }
                (m.path.clone(), scope)
            })
            .collect();
        let mut imports = BTreeMap::new();
        for m in &modules {
            let mut named = BTreeSet::new();
            let (uses, inline) = paths(&m.code);
            for path in uses.into_iter().chain(inline) {
                if let Some(absolute) = absolute(&m.path, &path, &known) {
                    let target = owner(&absolute, &known, &scopes, 0);
                    if target != m.path {
                        named.insert(target);
                    }
                }
            }
            imports.insert(m.path.clone(), named);
        }
        Graph {
            files: modules.into_iter().map(|m| (m.path, m.file)).collect(),
            imports,
        }
    }

    fn imports(&self, from: &[String], to: &[String]) -> bool {
        self.imports
            .get(from)
            .is_some_and(|named| named.contains(to))
    }

    fn name(&self, module: &[String]) -> String {
        self.files[module].display().to_string()
    }
}

/// The absolute path (from the crate root) of `path` as written in `module`, if it starts at a
/// module of this crate (`crate`, `super`, `self`, or a child module's name).
fn absolute(
    module: &[String],
    path: &[String],
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base = module.to_vec();
    let mut rest = path;
    match rest.first()?.as_str() {
        "crate" => {
            base.clear();
            rest = &rest[1..];
        }
        "self" => rest = &rest[1..],
        "super" => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        child => {
            let mut candidate = base.clone();
            candidate.push(child.to_owned());
            if !known.contains(&candidate) {
                return None;
            }
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module whose item `absolute` names, following re-exports and imports of the module it lands
/// in (a path through `poll::Poller`, re-exported from `poll::org_poll`, names `poll::org_poll`).
fn owner(
    absolute: &[String],
    known: &BTreeSet<Vec<String>>,
    scopes: &BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
    depth: usize,
) -> Vec<String> {
    let mut module = absolute.len();
    while module > 0 && !known.contains(&absolute[..module]) {
        module -= 1;
    }
    let landed = absolute[..module].to_vec();
    if let Some(item) = absolute.get(module)
        && let Some(target) = scopes.get(&landed).and_then(|scope| scope.get(item))
        && depth < 8
    {
        let mut through = target.clone();
        through.extend(absolute[module + 1..].iter().cloned());
        return owner(&through, known, scopes, depth + 1);
    }
    landed
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_two_files_import_each_other() {
    let mut pairs = Vec::new();
    for dir in CRATES {
        let graph = Graph::of(&root().join(dir));
        for (from, named) in &graph.imports {
            for to in named {
                if from < to && graph.imports(to, from) {
                    pairs.push(format!("{} <-> {}", graph.name(from), graph.name(to)));
                }
            }
        }
    }
    assert!(
        pairs.is_empty(),
        "files that import each other:\n{}",
        pairs.join("\n")
    );
}

#[test]
fn the_import_reader_sees_uses_paths_and_re_exports() {
    // The checker itself: were it blind, the test above could not fail.
    let graph = Graph::of(&root());
    let poll = |name: &str| vec!["poll".to_owned(), name.to_owned()];
    assert!(graph.imports(&poll("org_poll"), &poll("source")));
    let app = ["app".to_owned()];
    // A `use` tree (app/polling.rs's), and a path in the code (`crate::poll::endpoint_labels()` in
    // app/mod.rs) followed through poll/mod.rs's re-export to the file that defines it: app names
    // handover, not poll/mod.rs.
    assert!(graph.imports(
        &["app".to_owned(), "polling".to_owned()],
        &poll("scheduler")
    ));
    assert!(graph.imports(&app, &poll("handover")));
    assert!(!graph.imports(&app, &["poll".to_owned()]));
    let (uses, _) = paths("pub(crate) use crate::a::{b, c::{d, Cast as f}, self};");
    let uses: Vec<String> = uses.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        uses,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::Cast",
            "crate::a"
        ]
    );
    let code = strip_comments_and_strings("// crate::x\nlet s = \"crate::y\"; crate::z::W");
    assert_eq!(
        paths(&code),
        (
            vec![],
            vec![vec!["crate".to_owned(), "z".to_owned(), "W".to_owned()]]
        )
    );
}

#[test]
fn stages_keep_their_boundaries() {
    let graph = Graph::of(&root());
    let mut crossings = Vec::new();
    for (from, named) in &graph.imports {
        let stage = from.first().map(String::as_str);
        for to in named {
            // http reads the published snapshot; it never holds the store's write side.
            if stage == Some("http") && to.starts_with(&["metrics".to_owned(), "store".to_owned()])
            {
                crossings.push(format!("{} names the metrics store", graph.name(from)));
            }
            // The Atlas client is the poll stage's; metrics sees plain data only.
            if stage == Some("metrics") && to.first().map(String::as_str) == Some("poll") {
                crossings.push(format!("{} names the poll stage", graph.name(from)));
            }
        }
    }
    for module in graph.files.keys() {
        if module.first().map(String::as_str) == Some("metrics") {
            let code =
                strip_comments_and_strings(&fs::read_to_string(&graph.files[module]).unwrap());
            if code.contains("atlas_client") {
                crossings.push(format!(
                    "{} names the Atlas client crate",
                    graph.name(module)
                ));
            }
        }
    }
    assert!(crossings.is_empty(), "{}", crossings.join("\n"));
}

#[test]
fn the_atlas_crates_depend_on_no_exporter_code() {
    for (dir, forbidden) in [
        (
            "crates/atlas-client",
            &["atlas-invites-exporter", "atlas-sim"][..],
        ),
        // The simulator writes its own JSON: sharing the client's model would let a wrong field
        // name pass on both sides.
        (
            "crates/atlas-sim",
            &["atlas-invites-exporter", "atlas-client"][..],
        ),
    ] {
        let manifest = fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap();
        for name in forbidden {
            assert!(
                !manifest
                    .lines()
                    .any(|line| line.trim_start().starts_with(name)),
                "{dir} depends on {name}"
            );
        }
    }
}
