//! No module circles: the modules of `core/src` and of `app/src`, and which of them each one's code
//! names (`use` lines and inline `crate::…`, `super::…` and child-module paths), must form a graph
//! without cycles, so that `use` lines point down the layers.
//!
//! A path to an item that a module only re-exports (`pub use child::Item`) counts as a use of the
//! module that defines it; re-export lines themselves are declarations, not uses. Test modules
//! (`tests.rs`, `*_tests.rs`, a trailing `#[cfg(test)] mod tests { … }`) are leaves and are left out.
//!
//! Run `cargo test --test core module_graph -- --nocapture` to see every edge and its first occurrence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// One crate's modules: their source files and re-exports.
struct Crate {
    /// Module path → its source text (test code cut off).
    sources: BTreeMap<Module, (PathBuf, String)>,
    /// (module, item name) → the module the item comes from, for `pub use` lines.
    reexports: HashMap<(Module, String), Module>,
}

fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    let is_test = |p: &String| p == "tests" || p.ends_with("_tests");
    (!parts.iter().any(is_test)).then_some(parts)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments, string contents and its trailing test module.
fn code_of(text: &str) -> String {
    // An inline test module (`#[cfg(test)]` then `mod tests {`) runs to the end of the file.
    let inline_tests = text.match_indices("#[cfg(test)]\nmod ").find(|(i, m)| {
        let line = text[i + m.len()..].lines().next().unwrap_or("");
        line.trim_end().ends_with('{')
    });
    let text = match inline_tests {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if b[i] == b'"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if b.get(i) == Some(&b'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A character literal such as '"' or '{'.
            out.push_str("' '");
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The paths a `use` tree names, each as its segments (`a::{b, c::D}` → `a::b`, `a::c::D`).
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    // Renames (`X as Y`) name X; whitespace is dropped.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut tree = String::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" && i + 1 < words.len() {
            let renamed = words[i + 1];
            tree.extend(renamed.chars().filter(|c| matches!(c, ',' | '}')));
            i += 2;
        } else {
            tree.push_str(words[i]);
            i += 1;
        }
    }
    fn go(prefix: &[String], t: &str, out: &mut Vec<Vec<String>>) {
        if let Some(open) = t.find('{') {
            let head = &t[..open];
            let inner = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
            let mut p = prefix.to_vec();
            p.extend(
                head.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&p, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                go(&p, &inner[start..], out);
            }
        } else {
            let mut p = prefix.to_vec();
            p.extend(t.split("::").filter(|s| !s.is_empty()).map(str::to_string));
            if p.last().is_some_and(|s| s == "self") {
                p.pop();
            }
            if !p.is_empty() {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    go(&[], &tree, &mut out);
    out
}

/// `use` statements of `code`: (public re-export?, the paths, byte offset).
fn use_statements(code: &str) -> Vec<(bool, Vec<Vec<String>>, usize)> {
    let mut out = Vec::new();
    let mut rest = code;
    let mut offset = 0;
    while let Some(i) = rest.find("use ") {
        let at = offset + i;
        let before = &code[..at];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let lead = code[line_start..at].trim();
        let statement_start = lead.is_empty() || lead == "pub" || lead.starts_with("pub(");
        let after = &code[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if statement_start {
            let public = lead.starts_with("pub");
            out.push((public, expand_use(&after[..end]), at));
        }
        rest = &code[at + 4..];
        offset = at + 4;
    }
    out
}

/// Inline paths that start at `crate::` or `super::` outside `use` lines: their segments and byte offset.
fn inline_paths(code: &str) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        let is_use =
            t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ");
        if !is_use {
            for start in ["crate::", "super::"] {
                let mut from = 0;
                while let Some(i) = line[from..].find(start) {
                    let at = from + i;
                    let boundary = at == 0 || {
                        let c = line.as_bytes()[at - 1];
                        !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
                    };
                    if boundary {
                        let segs: Vec<String> = line[at..]
                            .split("::")
                            .map(|s| {
                                s.chars()
                                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                                    .collect::<String>()
                            })
                            .take_while(|s| !s.is_empty())
                            .collect();
                        out.push((segs, line_start + at));
                    }
                    from = at + start.len();
                }
            }
        }
        line_start += line.len();
    }
    out
}

/// Modules written inline (`mod x86 { … }`): their name and byte range, in order of their start.
fn inline_modules(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("mod ") {
        let at = from + i;
        from = at + 4;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let rest = &code[at + 4..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = rest[name.len()..].trim_start();
        if name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = at + 4 + rest.len() - after.len();
        let mut depth = 0;
        let mut end = code.len();
        for (k, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((name, open, end));
    }
    out
}

impl Crate {
    fn read(src: &Path) -> Self {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let mut sources = BTreeMap::new();
        for f in files {
            if let Some(m) = module_of(src, &f) {
                let text = std::fs::read_to_string(&f).unwrap();
                sources.insert(m, (f, code_of(&text)));
            }
        }
        let mut c = Crate {
            sources,
            reexports: HashMap::new(),
        };
        let mut reexports = HashMap::new();
        for (m, (_, code)) in &c.sources {
            for (public, paths, _) in use_statements(code) {
                if !public {
                    continue;
                }
                for p in paths {
                    if let Some((target, Some(item))) = c.resolve_module(m, &p) {
                        reexports.insert((m.clone(), item), target);
                    }
                }
            }
        }
        c.reexports = reexports;
        c
    }

    fn exists(&self, m: &[String]) -> bool {
        self.sources.contains_key(m)
    }

    /// The module a path leads to within this crate, and the item named after it; `None` for paths
    /// into other crates.
    fn resolve_module(&self, from: &Module, path: &[String]) -> Option<(Module, Option<String>)> {
        let mut segs = path.iter().peekable();
        let mut m: Module = match segs.peek()?.as_str() {
            "crate" => {
                segs.next();
                Vec::new()
            }
            "self" => {
                segs.next();
                from.clone()
            }
            "super" => {
                let mut m = from.clone();
                while segs.peek().is_some_and(|s| *s == "super") {
                    segs.next();
                    m.pop();
                }
                m
            }
            first => {
                let mut child = from.clone();
                child.push(first.to_string());
                if !self.exists(&child) {
                    return None;
                }
                from.clone()
            }
        };
        while let Some(s) = segs.peek() {
            let mut next = m.clone();
            next.push((*s).clone());
            if self.exists(&next) {
                m = next;
                segs.next();
            } else {
                break;
            }
        }
        Some((m, segs.next().cloned()))
    }

    /// The module that defines what `path` names (following re-exports).
    fn target(&self, from: &Module, path: &[String]) -> Option<Module> {
        let (mut m, mut item) = self.resolve_module(from, path)?;
        for _ in 0..8 {
            match item
                .as_ref()
                .and_then(|i| self.reexports.get(&(m.clone(), i.clone())))
            {
                Some(source) if *source != m => m = source.clone(),
                _ => break,
            }
            item = item.clone();
        }
        Some(m)
    }

    /// Every edge `from → to` with the first place it occurs.
    fn edges(&self) -> BTreeMap<(Module, Module), String> {
        let mut edges = BTreeMap::new();
        for (m, (file, code)) in &self.sources {
            let mut found: Vec<(Vec<String>, usize)> = Vec::new();
            for (public, paths, at) in use_statements(code) {
                if !public {
                    found.extend(paths.into_iter().map(|p| (p, at)));
                }
            }
            found.extend(inline_paths(code));
            let inline = inline_modules(code);
            for (path, at) in found {
                // Inside `mod x86 { … }`, `super` is the file's module.
                let mut here = m.clone();
                here.extend(
                    inline
                        .iter()
                        .filter(|(_, start, end)| (*start..*end).contains(&at))
                        .map(|(name, ..)| name.clone()),
                );
                let line = code[..at].matches('\n').count() + 1;
                let Some(to) = self.target(&here, &path) else {
                    continue;
                };
                if &to != m && self.exists(&to) {
                    edges
                        .entry((m.clone(), to))
                        .or_insert_with(|| format!("{}:{line}", shown(file)));
                }
            }
        }
        edges
    }
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<(Module, Module), String>) -> Vec<Vec<Module>> {
    let nodes: BTreeSet<&Module> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let nodes: Vec<&Module> = nodes.into_iter().collect();
    let id: HashMap<&Module, usize> = nodes.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut adj = vec![Vec::new(); nodes.len()];
    for (a, b) in edges.keys() {
        adj[id[a]].push(id[b]);
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adj: &[Vec<usize>], s: &mut State) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on[v] = true;
        for &w in &adj[v] {
            match s.index[w] {
                None => {
                    visit(w, adj, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let n = nodes.len();
    let mut s = State {
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(v, &adj, &mut s);
        }
    }
    s.out
        .into_iter()
        .map(|c| {
            let mut c: Vec<Module> = c.into_iter().map(|i| nodes[i].clone()).collect();
            c.sort();
            c
        })
        .collect()
}

/// A source file as `core/src/…` or `app/src/…`.
fn shown(file: &Path) -> String {
    let text = file.to_string_lossy();
    ["core/src/", "app/src/"]
        .iter()
        .find_map(|k| text.rfind(k).map(|i| text[i..].to_string()))
        .unwrap_or_else(|| text.into_owned())
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "(root)".into()
    } else {
        m.join("::")
    }
}

#[test]
fn module_graph_has_no_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = Vec::new();
    for krate in ["core", "app"] {
        let c = Crate::read(&root.join(krate).join("src"));
        let edges = c.edges();
        println!(
            "{krate}: {} modules, {} edges",
            c.sources.len(),
            edges.len()
        );
        for ((a, b), at) in &edges {
            println!("  {} -> {}   ({at})", name(a), name(b));
        }
        for cycle in cycles(&edges) {
            let members: BTreeSet<&Module> = cycle.iter().collect();
            let inside: Vec<String> = edges
                .iter()
                .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                .map(|((a, b), at)| format!("    {} -> {} ({at})", name(a), name(b)))
                .collect();
            report.push(format!(
                "{krate}: {} import each other:\n{}",
                cycle.iter().map(name).collect::<Vec<_>>().join(", "),
                inside.join("\n")
            ));
        }
    }
    assert!(report.is_empty(), "module circles:\n{}", report.join("\n"));
}

#[test]
fn the_checker_finds_a_circle_and_follows_reexports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod c;\npub use c::Thing;\n",
    )
    .unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod inner;\npub use inner::X;\n").unwrap();
    std::fs::write(src.join("a/inner.rs"), "use crate::b::Y;\npub struct X;\n").unwrap();
    // b uses X through a's re-export: the edge goes to a::inner, which uses b: a circle.
    std::fs::write(
        src.join("b.rs"),
        "use crate::{a::X, Thing};\npub struct Y; // crate::c::Nothing\n",
    )
    .unwrap();
    std::fs::write(src.join("c.rs"), "pub struct Thing;\n").unwrap();
    let c = Crate::read(src);
    let edges = c.edges();
    let names: Vec<(String, String)> = edges.keys().map(|(a, b)| (name(a), name(b))).collect();
    assert_eq!(
        names,
        [
            ("a::inner".to_string(), "b".to_string()),
            ("b".to_string(), "a::inner".to_string()),
            ("b".to_string(), "c".to_string()),
        ]
    );
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].iter().map(name).collect::<Vec<_>>(),
        ["a::inner", "b"]
    );
}
