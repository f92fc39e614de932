//! Shell command lines as CI and task runners write them: split into simple commands, split
//! into words, and unwrapped from launchers (`uv run`, `python -m`, `poetry run`, ...) so that
//! the table can name the tool itself. Nothing is ever executed.

/// Splits a script (a `run:` block, a recipe) into simple commands, each with the 0-based index
/// of the line it starts on. Backslash continuations are joined; `&&`, `||`, `;` and `|` split.
pub fn commands(script: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in script.lines().enumerate() {
        let line = raw.trim_end();
        if pending.is_empty() {
            start = i;
        }
        if let Some(stripped) = line.strip_suffix('\\') {
            pending.push_str(stripped);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let joined = std::mem::take(&mut pending);
        for part in split_operators(&joined) {
            let part = part.trim();
            if !part.is_empty() && !part.starts_with('#') {
                out.push((start, part.to_string()));
            }
        }
    }
    if !pending.trim().is_empty() {
        out.push((start, pending.trim().to_string()));
    }
    out
}

fn split_operators(line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                cur.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '#' if cur.is_empty() || cur.ends_with(' ') => break,
                ';' | '|' | '&' | '(' | ')' => {
                    parts.push(std::mem::take(&mut cur));
                    while i + 1 < chars.len() && (chars[i + 1] == '|' || chars[i + 1] == '&') {
                        i += 1;
                    }
                }
                '{' | '}' if is_group(&chars, i) => {
                    parts.push(std::mem::take(&mut cur));
                    while i + 1 < chars.len() && (chars[i + 1] == '|' || chars[i + 1] == '&') {
                        i += 1;
                    }
                }
                _ => cur.push(c),
            },
        }
        i += 1;
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| strip_keywords(p.trim()).to_string())
        .collect()
}

/// `{` `}` group commands only when they stand alone as words; `${{ matrix.x }}` and
/// `{posargs}` are not groups.
fn is_group(chars: &[char], i: usize) -> bool {
    let before = if i == 0 { ' ' } else { chars[i - 1] };
    let after = chars.get(i + 1).copied().unwrap_or(' ');
    before.is_whitespace() && after.is_whitespace()
}

fn strip_keywords(mut s: &str) -> &str {
    loop {
        let mut changed = false;
        for kw in [
            "then ", "else ", "do ", "if ", "while ", "until ", "! ", "time ", "exec ",
        ] {
            if let Some(rest) = s.strip_prefix(kw) {
                s = rest.trim_start();
                changed = true;
            }
        }
        if !changed {
            return s;
        }
    }
}

/// Splits one simple command into words, honouring quotes.
pub fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn is_python(word: &str) -> bool {
    let base = basename(word);
    base == "python"
        || base == "py"
        || base == "pypy3"
        || base
            .strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        || word.contains("{envpython}")
        || word.contains("sys.executable")
        || word.eq_ignore_ascii_case("$(PYTHON)")
        || word.eq_ignore_ascii_case("${PYTHON}")
        || word.eq_ignore_ascii_case("$PYTHON")
}

/// `${PREFIX}coverage` and `$(VENV)/bin/pytest` name the tool after a variable; the variable
/// part is dropped. A word that is only a variable is kept.
fn strip_var_prefix(word: &str) -> &str {
    let close = match word.get(..2) {
        Some("${") => '}',
        Some("$(") => ')',
        _ => return word,
    };
    match word.find(close) {
        Some(i) if i + 1 < word.len() => word[i + 1..].trim_start_matches('/'),
        _ => word,
    }
}

/// The index of `run` / `exec` in `docker compose run` or `docker-compose exec`.
/// `docker compose` options that take a value, before the subcommand.
const COMPOSE_OPTIONS: &[&str] = &[
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--profile",
    "--env-file",
];

fn compose_subcommand(argv: &[String], i: usize) -> Option<usize> {
    let base = basename(&argv[i]);
    let sub = match base {
        "docker" if argv.get(i + 1).map(String::as_str) == Some("compose") => {
            skip_options_of(argv, i + 2, COMPOSE_OPTIONS)
        }
        "docker-compose" => skip_options_of(argv, i + 1, COMPOSE_OPTIONS),
        _ => return None,
    };
    matches!(argv.get(sub).map(String::as_str), Some("run" | "exec")).then_some(sub)
}

/// A word that is only a variable reference: `$(X)`, `${X}`, `$X`.
fn is_bare_var(word: &str) -> bool {
    let name = if let Some(r) = word.strip_prefix("$(") {
        r.strip_suffix(')')
    } else if let Some(r) = word.strip_prefix("${") {
        r.strip_suffix('}')
    } else {
        word.strip_prefix('$')
    };
    name.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn basename(word: &str) -> &str {
    let word = strip_var_prefix(word);
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    base.strip_suffix(".exe").unwrap_or(base)
}

/// Options of launchers that take a value, so that the value is not mistaken for the command.
const VALUE_OPTIONS: &[&str] = &[
    "--with",
    "--with-editable",
    "--with-requirements",
    "--extra",
    "--group",
    "--only-group",
    "--no-group",
    "--python",
    "-p",
    "--package",
    "--directory",
    "--project",
    "--env-file",
    "--index",
    "--index-url",
    "--extra-index-url",
    "--from",
    "--spec",
    "-e",
    "--env",
    "--resolution",
    "--prerelease",
    "--python-preference",
    "-w",
    "-C",
    // coverage run
    "--source",
    "--rcfile",
    "--omit",
    "--include",
    "--concurrency",
    "--data-file",
    "--context",
];

fn skip_options(argv: &[String], i: usize) -> usize {
    skip_options_of(argv, i, VALUE_OPTIONS)
}

fn skip_options_of(argv: &[String], mut i: usize, takes_value: &[&str]) -> usize {
    while i < argv.len() && argv[i].starts_with('-') {
        let opt = argv[i].as_str();
        i += 1;
        if opt == "--" {
            break;
        }
        if takes_value.contains(&opt) && !opt.contains('=') {
            i += 1;
        }
    }
    i
}

/// Options of `docker compose run|exec` that take a value.
const COMPOSE_VALUE_OPTIONS: &[&str] = &[
    "-e",
    "--env",
    "-w",
    "--workdir",
    "-u",
    "--user",
    "-v",
    "--volume",
    "-p",
    "--publish",
    "--entrypoint",
    "--name",
    "-l",
    "--label",
    "--index",
];

/// The words of the tool actually run: launchers, environment assignments and interpreters
/// are peeled off, and the tool name is lower-cased without its directory.
pub fn normalize(argv: &[String]) -> Vec<String> {
    let mut i = 0;
    let mut rounds = 0;
    while i < argv.len() && rounds < 16 {
        rounds += 1;
        let w = argv[i].as_str();
        let base = basename(w).to_ascii_lowercase();
        let next = argv.get(i + 1).map(String::as_str);
        if w.contains('=') && !w.starts_with('-') && !w.starts_with('=') && i + 1 < argv.len() {
            i += 1;
        } else if matches!(
            base.as_str(),
            "sudo" | "env" | "nice" | "xvfb-run" | "time" | "command" | "exec"
        ) {
            i = skip_options(argv, i + 1);
        } else if base == "uv" && matches!(next, Some("run")) {
            i = skip_options(argv, i + 2);
        } else if base == "uv"
            && matches!(next, Some("tool"))
            && argv.get(i + 2).map(String::as_str) == Some("run")
        {
            i = skip_options(argv, i + 3);
        } else if base == "uvx" || base == "pipx" && matches!(next, Some("run")) {
            i = skip_options(argv, i + if base == "uvx" { 1 } else { 2 });
        } else if matches!(base.as_str(), "poetry" | "pipenv" | "rye" | "pixi")
            && matches!(next, Some("run"))
        {
            i = skip_options(argv, i + 2);
        } else if is_python(w) {
            let mut j = i + 1;
            while j < argv.len() && argv[j].starts_with('-') && argv[j] != "-m" && argv[j] != "-c" {
                // -W and -X take a value when written apart.
                if matches!(argv[j].as_str(), "-W" | "-X") {
                    j += 1;
                }
                j += 1;
            }
            match argv.get(j).map(String::as_str) {
                Some("-m") => i = j + 1,
                Some("-c") | None => return Vec::new(),
                Some(_) => {
                    // A script: the table names scripts by their file name.
                    let mut out = vec![basename(&argv[j]).to_ascii_lowercase()];
                    out.extend(argv[j + 1..].iter().cloned());
                    return out;
                }
            }
        } else if base == "npx" || base == "npm" && matches!(next, Some("exec")) {
            // `npx --yes pyright@1.1.380`: the version is cut from the tool name below.
            i = skip_options(argv, i + if base == "npx" { 1 } else { 2 });
        } else if let Some(sub) = compose_subcommand(argv, i) {
            // `docker compose run --rm web pytest`: skip the options and the service name.
            let j = skip_options_of(argv, sub + 1, COMPOSE_VALUE_OPTIONS);
            if j + 1 >= argv.len() {
                return Vec::new();
            }
            i = j + 1;
        } else if base == "coverage" && matches!(next, Some("run")) {
            let j = skip_options(argv, i + 2);
            match argv.get(j).map(String::as_str) {
                Some("-m") => i = j + 1,
                Some(script) => {
                    let mut out = vec![basename(script).to_ascii_lowercase()];
                    out.extend(argv[j + 1..].iter().cloned());
                    return out;
                }
                None => break,
            }
        } else if is_bare_var(w) && i + 1 < argv.len() {
            // `$(TEST_ENV) pytest`: a variable that expands to assignments or a prefix.
            i += 1;
        } else {
            break;
        }
    }
    if i >= argv.len() {
        return Vec::new();
    }
    let tool = basename(&argv[i]);
    let tool = match tool.find('@') {
        Some(at) if at > 0 => &tool[..at],
        _ => tool,
    };
    let mut out = vec![tool.to_ascii_lowercase()];
    out.extend(argv[i + 1..].iter().cloned());
    if out[0] == "py.test" {
        out[0] = "pytest".into();
    }
    out
}

/// The positional words after the tool name (options and their inline values skipped).
pub fn positionals(argv: &[String]) -> Vec<&str> {
    argv.iter()
        .skip(1)
        .map(String::as_str)
        .filter(|w| !w.starts_with('-'))
        .collect()
}

/// Whether `flag` is given, alone or as `flag=value`.
pub fn has_flag(argv: &[String], flag: &str) -> bool {
    argv.iter().any(|w| {
        w == flag || w.strip_prefix(flag).is_some_and(|r| r.starts_with('='))
        // Clustered short flags such as `-c` inside `-qc` are too ambiguous to count.
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &str) -> Vec<String> {
        normalize(&words(s))
    }

    #[test]
    fn launchers_are_unwrapped() {
        assert_eq!(norm("uv run --frozen pytest -x")[0], "pytest");
        assert_eq!(norm("uv run --with tox-uv tox -e lint")[0], "tox");
        assert_eq!(norm("python -m pytest")[0], "pytest");
        assert_eq!(norm("python3.12 -W error -m mypy src")[0], "mypy");
        assert_eq!(norm("poetry run ruff check .")[..2], ["ruff", "check"]);
        assert_eq!(
            norm("COVERAGE_CORE=sysmon coverage run -m pytest")[0],
            "pytest"
        );
        assert_eq!(norm("uvx --from pip-audit pip-audit")[0], "pip-audit");
        assert_eq!(norm("python -Wa tests/runtests.py -v2")[0], "runtests.py");
        assert_eq!(norm("{envpython} -m pytest {posargs}")[0], "pytest");
        assert_eq!(norm("${PREFIX}coverage run -p -m pytest")[0], "pytest");
        assert_eq!(norm("$(VENV)/bin/ruff check .")[..2], ["ruff", "check"]);
        assert_eq!(norm("$(PYTHON) -m mypy src")[0], "mypy");
        assert_eq!(norm("$(TEST_ENV) pytest --cov=x")[0], "pytest");
        assert_eq!(norm("coverage run --source app -m pytest")[0], "pytest");
        assert_eq!(norm("python setup.py test")[..2], ["setup.py", "test"]);
        assert_eq!(norm("npx --yes pyright@1.1.380 src")[0], "pyright");
        assert_eq!(
            norm("docker compose -f ci.yml run --rm -e CI=1 web python -m pytest")[0],
            "pytest"
        );
        assert_eq!(norm("docker-compose exec -T app mypy .")[0], "mypy");
        assert!(norm("docker compose run web").is_empty());
        assert_eq!(norm("docker build -t x .")[0], "docker");
        assert!(norm("python -c 'import x'").is_empty());
    }

    #[test]
    fn scripts_are_split_with_lines() {
        let cmds =
            commands("pip install . && pytest\n# comment\nruff check \\\n  src\nmake lint || true");
        let texts: Vec<&str> = cmds.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(
            texts,
            [
                "pip install .",
                "pytest",
                "ruff check    src",
                "make lint",
                "true"
            ]
        );
        assert_eq!(cmds[2].0, 2);
        assert_eq!(cmds[3].0, 4);
    }

    #[test]
    fn expressions_are_not_split() {
        let cmds = commands("tox -e ${{ matrix.env }}");
        assert_eq!(cmds.len(), 1);
    }

    #[test]
    fn flags() {
        let argv = words("ruff format --check .");
        assert!(has_flag(&argv, "--check"));
        assert!(!has_flag(&argv, "--diff"));
        assert!(has_flag(
            &words("pytest --cov-fail-under=90"),
            "--cov-fail-under"
        ));
    }

    proptest! {
        #[test]
        fn splitting_never_panics(s in "\\PC{0,200}") {
            for (_, c) in commands(&s) {
                let _ = normalize(&words(&c));
            }
        }

        #[test]
        fn plain_words_round_trip(ws in proptest::collection::vec("[a-z0-9._/-]{1,8}", 1..6)) {
            let line = ws.join(" ");
            prop_assert_eq!(words(&line), ws);
        }
    }
}
