//! Property tests of the command parser with a seeded generator: random bytes and random
//! token soups never panic, and a soup holding a construct the parser does not decompose is
//! never allowed.

use rein_policy::command::PARSER_RULE;
use rein_policy::{CommandRulesConfig, Decision, Policy, PolicyConfig};

fn open_policy() -> Policy {
    Policy::new(&PolicyConfig {
        commands: CommandRulesConfig::default(),
        ..PolicyConfig::default()
    })
    .unwrap()
}

const SAFE_WORDS: &[&str] = &[
    "ls",
    "-la",
    "src",
    "'a b'",
    "\"c d\"",
    "x\\ y",
    "foo.txt",
    "--flag=1",
    "2>/dev/null",
    "|",
    "&&",
    "||",
    ";",
    "&",
    "\n",
    "(",
    ")",
    "{",
    "}",
    "$(",
    "`",
    "'",
    "\"",
    "$",
    "\\",
    "<",
    ">",
    ">>",
    "<<<",
    "2>&1",
    "$HOME",
    "\"$x\"",
    "*.rs",
    "./*",
    "~",
    "#",
    "!",
    "=",
    "a=b",
    "<(",
    ">(",
    "$'\\n'",
    "<<'E'",
    "E",
    "{a,b}",
    "[x]",
    "-exec",
    ";;",
    "((",
    "${",
    "}",
];

/// Commands the parser must refuse wherever they stand as a command.
const POISON: &[&str] = &[
    "eval ls",
    "source x",
    ". x",
    "$CMD x",
    "${CMD} x",
    "`echo rm` x",
    "$(echo rm) x",
    "echo $((1+1))",
    "echo ${x:-y}",
    "if true; then ls; fi",
    "f() { ls; }",
    "alias ls=rm",
    "trap 'rm x' EXIT",
    "bash script.sh",
    "sh",
    "zsh -c ls",
    "sudo -s",
    "env -S 'rm x'",
    "xargs -Q rm",
    "find . -exec rm {}",
    "{rm,x}",
    "declare -x A=1",
    "exec {fd}>x",
    "case x in *) ;; esac",
    "[[ -f x ]]",
    "for i in 1; do ls; done",
    "while true; do ls; done",
    "coproc ls",
    "echo $[1]",
    "shopt -s extglob",
];

const SEPARATORS: &[&str] = &["; ", " && ", " || ", " | ", " & ", "\n"];

fn safe_command(rng: &mut fastrand::Rng) -> String {
    let programs = [
        "ls",
        "cat x",
        "echo 'a;b'",
        "grep -n \"x y\" f",
        "true",
        "wc -l",
    ];
    programs[rng.usize(..programs.len())].to_string()
}

#[test]
fn random_bytes_never_panic() {
    let policy = open_policy();
    let mut rng = fastrand::Rng::with_seed(4);
    for _ in 0..20_000 {
        let length = rng.usize(0..64);
        let bytes: Vec<u8> = (0..length).map(|_| rng.u8(..)).collect();
        let line = String::from_utf8_lossy(&bytes);
        let _ = policy.check_command(&line);
    }
}

#[test]
fn random_token_soups_never_panic() {
    let policy = open_policy();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..20_000 {
        let count = rng.usize(1..24);
        let line: Vec<&str> = (0..count)
            .map(|_| SAFE_WORDS[rng.usize(..SAFE_WORDS.len())])
            .collect();
        let separator = if rng.bool() { " " } else { "" };
        let _ = policy.check_command(&line.join(separator));
    }
}

#[test]
fn an_undecomposable_command_is_never_allowed_wherever_it_stands() {
    let policy = open_policy();
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..5_000 {
        let poison = POISON[rng.usize(..POISON.len())];
        let before = rng.usize(0..3);
        let after = rng.usize(0..3);
        let mut parts: Vec<String> = (0..before).map(|_| safe_command(&mut rng)).collect();
        // Nest the poison in a random context.
        let nested = match rng.u8(0..6) {
            0 => format!("( {poison} )"),
            1 => format!("{{ {poison}; }}"),
            2 => format!("echo \"$( {poison} )\""),
            3 => format!("ls $({poison})"),
            4 => format!("bash -c '{}'", poison.replace('\'', "'\\''")),
            _ => poison.to_string(),
        };
        parts.push(nested);
        parts.extend((0..after).map(|_| safe_command(&mut rng)));
        let mut line = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                line.push_str(SEPARATORS[rng.usize(..SEPARATORS.len())]);
            }
            line.push_str(part);
        }
        let answer = policy.check_command(&line);
        match &answer.decision {
            Decision::Deny { rule, .. } if rule == PARSER_RULE => {}
            other => panic!("{line:?} gave {other}"),
        }
    }
}

#[test]
fn a_four_kib_command_line_is_fully_decomposed() {
    let policy = open_policy();
    let unit = "git status && ls -la 'src dir' | grep -n \"fn $(echo main)\" > out.txt; ";
    let line = unit.repeat(4096 / unit.len() + 1);
    assert!(line.len() >= 4096);
    let answer = policy.check_command(&line);
    assert_eq!(answer.decision, Decision::Allow);
    assert_eq!(answer.commands.len(), 4 * (4096 / unit.len() + 1));
}
