//! File builtins: `read_file`, `write_file`, `edit_file`, `list_dir`, `grep`, and the path
//! checks they share.

use std::path::Path;

use expect_test::expect;
use rein_sandbox::Sandbox as _;
use serde_json::json;

use crate::{call, write};

/// A small project: a few sources, a gitignored folder, a hidden file, a binary.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("README.md"), "# Demo\nTODO: write docs\n");
    write(
        &root.join("src/main.rs"),
        "fn main() {\n    // TODO: greet\n    println!(\"hello\");\n}\n",
    );
    write(
        &root.join("src/lib.rs"),
        "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
    );
    write(&root.join(".gitignore"), "target/\n");
    write(
        &root.join("target/debug/out.txt"),
        "TODO: ignored build output\n",
    );
    write(&root.join(".hidden/notes.txt"), "TODO: hidden\n");
    std::fs::write(root.join("image.bin"), b"TODO\0binary").unwrap();
    dir
}

/// A folder outside the workspace with a file in it, and symlinks to both inside `root`.
fn outside_links(root: &Path) -> tempfile::TempDir {
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("secret.txt"), "top secret\n");
    std::os::unix::fs::symlink(outside.path(), root.join("out-dir")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("out-file")).unwrap();
    outside
}

#[tokio::test]
async fn read_file_numbers_lines_and_reads_ranges() {
    let dir = project();
    let ws = dir.path();
    expect![[r#"
        Ok
        src/main.rs (lines 1-4 of 4)
             1	fn main() {
             2	    // TODO: greet
             3	    println!("hello");
             4	}
    "#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "src/main.rs"})).await);
    expect![[r#"
        Ok
        src/main.rs (lines 2-3 of 4)
             2	    // TODO: greet
             3	    println!("hello");
    "#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "./src/main.rs", "start_line": 2, "end_line": 3}),
        )
        .await,
    );
    expect![[r#"
        Ok
        src/main.rs (lines 4-4 of 4)
             4	}
    "#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "src/main.rs", "start_line": 4, "end_line": 99}),
        )
        .await,
    );
    write(&ws.join("empty.txt"), "");
    expect![[r#"
        Ok
        empty.txt (empty file)
    "#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "empty.txt"})).await);
}

#[tokio::test]
async fn read_file_errors() {
    let dir = project();
    let ws = dir.path();
    expect![[r#"
        ToolFailed error
        `nope.txt` does not exist"#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "nope.txt"})).await);
    expect![[r#"
        ToolFailed error
        start_line 10 is past the end of `src/lib.rs`, which has 3 lines"#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "src/lib.rs", "start_line": 10}),
        )
        .await,
    );
    expect![[r#"
        ToolFailed error
        end_line (1) is before start_line (2); ask for start_line <= end_line"#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "src/lib.rs", "start_line": 2, "end_line": 1}),
        )
        .await,
    );
    expect![[r#"
        ToolFailed error
        `src` is a directory; use list_dir to see its entries"#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "src"})).await);
    expect![[r#"
        ToolFailed error
        `image.bin` looks like a binary file (it contains NUL bytes); read_file shows text files only"#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "image.bin"})).await);
    expect![[r#"
        InvalidArguments error
        invalid arguments for tool `read_file`:
        - `/start_line`: 0 is less than the minimum of 1
        hint: fix the arguments to match the tool's input schema and call it again"#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "src/lib.rs", "start_line": 0}),
        )
        .await,
    );
}

#[tokio::test]
async fn write_file_creates_parents_and_replaces() {
    let dir = project();
    let ws = dir.path();
    expect![[r#"
        Ok
        created `docs/guide/intro.md` (6 bytes)"#]]
    .assert_eq(
        &call(
            ws,
            "write_file",
            json!({"path": "docs/guide/intro.md", "content": "intro\n"}),
        )
        .await,
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("docs/guide/intro.md")).unwrap(),
        "intro\n"
    );
    expect![[r#"
        Ok
        replaced the content of `README.md` (4 bytes)"#]]
    .assert_eq(
        &call(
            ws,
            "write_file",
            json!({"path": "README.md", "content": "new\n"}),
        )
        .await,
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("README.md")).unwrap(),
        "new\n"
    );
    expect![[r#"
        ToolFailed error
        `src` is a directory; give the path of a file"#]]
    .assert_eq(&call(ws, "write_file", json!({"path": "src", "content": ""})).await);
    expect![[r#"
        InvalidArguments error
        invalid arguments for tool `write_file`:
        - arguments: "content" is a required property
        hint: fix the arguments to match the tool's input schema and call it again"#]]
    .assert_eq(&call(ws, "write_file", json!({"path": "a.txt"})).await);
}

#[tokio::test]
async fn edit_file_replaces_a_unique_match() {
    let dir = project();
    let ws = dir.path();
    expect![[r#"
        Ok
        edited `src/lib.rs`: replaced 1 line(s) at line 2 with 2 line(s)"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "    a + b\n", "new_string": "    let sum = a + b;\n    sum\n"}),
        )
        .await,
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("src/lib.rs")).unwrap(),
        "pub fn add(a: i32, b: i32) -> i32 {\n    let sum = a + b;\n    sum\n}\n"
    );
}

#[tokio::test]
async fn edit_file_errors_say_how_many_matches() {
    let dir = project();
    let ws = dir.path();
    write(&ws.join("twice.txt"), "x = 1\ny = 2\nx = 1\n");
    expect![[r#"
        ToolFailed error
        old_string matches 2 times in `twice.txt` (at lines 1, 3); it must match exactly once
        hint: include more surrounding lines in old_string to make it unique"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "twice.txt", "old_string": "x = 1", "new_string": "x = 3"}),
        )
        .await,
    );
    expect![[r#"
        ToolFailed error
        old_string was not found in `twice.txt`
        hint: it must match exactly, whitespace and indentation included; read the file again and copy the text"#]]
    .assert_eq(
        &call(ws, "edit_file", json!({"path": "twice.txt", "old_string": "z = 9", "new_string": ""}))
            .await,
    );
    // Nothing was written on failure.
    assert_eq!(
        std::fs::read_to_string(ws.join("twice.txt")).unwrap(),
        "x = 1\ny = 2\nx = 1\n"
    );
    expect![[r#"
        ToolFailed error
        `missing.txt` does not exist"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "missing.txt", "old_string": "a", "new_string": "b"}),
        )
        .await,
    );
    expect![[r#"
        InvalidArguments error
        invalid arguments for tool `edit_file`:
        - `/old_string`: "" is shorter than 1 character
        hint: fix the arguments to match the tool's input schema and call it again"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "twice.txt", "old_string": "", "new_string": "b"}),
        )
        .await,
    );
}

#[tokio::test]
async fn list_dir_sorts_and_marks_folders_and_symlinks() {
    let dir = project();
    let ws = dir.path();
    std::os::unix::fs::symlink("src/lib.rs", ws.join("lib-link")).unwrap();
    expect![[r#"
        Ok
        .gitignore
        .hidden/
        README.md
        image.bin
        lib-link -> src/lib.rs
        src/
        target/
    "#]]
    .assert_eq(&call(ws, "list_dir", json!({})).await);
    expect![[r#"
        Ok
        lib.rs
        main.rs
    "#]]
    .assert_eq(&call(ws, "list_dir", json!({"path": "src"})).await);
    std::fs::create_dir(ws.join("empty")).unwrap();
    expect![[r#"
        Ok
        `empty` is an empty directory"#]]
    .assert_eq(&call(ws, "list_dir", json!({"path": "empty"})).await);
    expect![[r#"
        ToolFailed error
        `README.md` is not a directory; use read_file to read a file"#]]
    .assert_eq(&call(ws, "list_dir", json!({"path": "README.md"})).await);
    expect![[r#"
        ToolFailed error
        `nowhere` does not exist"#]]
    .assert_eq(&call(ws, "list_dir", json!({"path": "nowhere"})).await);
}

#[tokio::test]
async fn grep_respects_gitignore_hidden_and_binary_files() {
    let dir = project();
    let ws = dir.path();
    expect![[r#"
        Ok
        README.md:2:TODO: write docs
        src/main.rs:2:    // TODO: greet
    "#]]
    .assert_eq(&call(ws, "grep", json!({"pattern": "TODO"})).await);
    expect![[r#"
        Ok
        src/main.rs:2:    // TODO: greet
    "#]]
    .assert_eq(
        &call(
            ws,
            "grep",
            json!({"pattern": "todo", "ignore_case": true, "glob": "*.rs"}),
        )
        .await,
    );
    expect![[r#"
        Ok
        src/lib.rs:1:pub fn add(a: i32, b: i32) -> i32 {
    "#]]
    .assert_eq(&call(ws, "grep", json!({"pattern": r"fn \w+\(a", "path": "src"})).await);
    expect![[r#"
        Ok
        no matches
    "#]]
    .assert_eq(&call(ws, "grep", json!({"pattern": "todo"})).await);
}

#[tokio::test]
async fn grep_caps_matches_and_reports_bad_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let many: String = (1..=300).map(|n| format!("hit {n}\n")).collect();
    write(&ws.join("many.txt"), &many);
    let output = call(ws, "grep", json!({"pattern": "hit"})).await;
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 1 + rein_tools::builtin::MAX_GREP_MATCHES + 1);
    assert_eq!(lines[1], "many.txt:1:hit 1");
    assert_eq!(lines[200], "many.txt:200:hit 200");
    expect!["[stopped after 200 matches; narrow the pattern, path or glob]"].assert_eq(lines[201]);

    let output = call(ws, "grep", json!({"pattern": "("})).await;
    assert!(
        output.starts_with("ToolFailed error\ninvalid regular expression `(`: "),
        "{output}"
    );
    let output = call(ws, "grep", json!({"pattern": "x", "glob": "a{b"})).await;
    assert!(
        output.starts_with("ToolFailed error\ninvalid glob `a{b`: "),
        "{output}"
    );
}

#[tokio::test]
async fn paths_outside_the_workspace_are_refused_by_every_file_tool() {
    let dir = project();
    let ws = dir.path();
    let outside = outside_links(ws);
    let cases = [
        ("read_file", json!({"path": "/etc/passwd"})),
        ("read_file", json!({"path": "../secret.txt"})),
        ("read_file", json!({"path": "out-dir/secret.txt"})),
        ("read_file", json!({"path": "out-file"})),
        (
            "write_file",
            json!({"path": "out-dir/new.txt", "content": "x"}),
        ),
        (
            "write_file",
            json!({"path": "out-file", "content": "overwritten"}),
        ),
        (
            "write_file",
            json!({"path": "src/../../escape.txt", "content": "x"}),
        ),
        (
            "edit_file",
            json!({"path": "out-file", "old_string": "top", "new_string": "no"}),
        ),
        ("list_dir", json!({"path": "out-dir"})),
        ("list_dir", json!({"path": "/"})),
        ("grep", json!({"pattern": "secret", "path": "out-dir"})),
        ("grep", json!({"pattern": "secret", "path": ".."})),
    ];
    let mut rendered = String::new();
    for (tool, arguments) in cases {
        rendered.push_str(&format!(
            "{tool} {arguments}\n  {}\n",
            call(ws, tool, arguments.clone())
                .await
                .replace('\n', "\n  ")
        ));
    }
    expect![[r#"
        read_file {"path":"/etc/passwd"}
          ToolFailed error
          path `/etc/passwd` is absolute; use a path relative to the workspace root
        read_file {"path":"../secret.txt"}
          ToolFailed error
          path `../secret.txt` leaves the workspace; use a path inside the workspace root
        read_file {"path":"out-dir/secret.txt"}
          ToolFailed error
          path `out-dir/secret.txt` goes through the symlink `out-dir`, which points outside the workspace
        read_file {"path":"out-file"}
          ToolFailed error
          path `out-file` goes through the symlink `out-file`, which points outside the workspace
        write_file {"content":"x","path":"out-dir/new.txt"}
          ToolFailed error
          path `out-dir/new.txt` goes through the symlink `out-dir`, which points outside the workspace
        write_file {"content":"overwritten","path":"out-file"}
          ToolFailed error
          path `out-file` goes through the symlink `out-file`, which points outside the workspace
        write_file {"content":"x","path":"src/../../escape.txt"}
          ToolFailed error
          path `src/../../escape.txt` leaves the workspace; use a path inside the workspace root
        edit_file {"new_string":"no","old_string":"top","path":"out-file"}
          ToolFailed error
          path `out-file` goes through the symlink `out-file`, which points outside the workspace
        list_dir {"path":"out-dir"}
          ToolFailed error
          path `out-dir` goes through the symlink `out-dir`, which points outside the workspace
        list_dir {"path":"/"}
          ToolFailed error
          path `/` is absolute; use a path relative to the workspace root
        grep {"path":"out-dir","pattern":"secret"}
          ToolFailed error
          path `out-dir` goes through the symlink `out-dir`, which points outside the workspace
        grep {"path":"..","pattern":"secret"}
          ToolFailed error
          path `..` leaves the workspace; use a path inside the workspace root
    "#]]
    .assert_eq(&rendered);
    // Nothing outside changed, and grep from the root does not follow the symlinks out.
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(),
        "top secret\n"
    );
    assert!(!outside.path().join("new.txt").exists());
    assert!(!ws.parent().unwrap().join("escape.txt").exists());
    expect![[r#"
        Ok
        no matches
    "#]]
    .assert_eq(&call(ws, "grep", json!({"pattern": "top secret"})).await);
}

#[tokio::test]
async fn symlinks_inside_the_workspace_are_followed() {
    let dir = project();
    let ws = dir.path();
    std::os::unix::fs::symlink("src", ws.join("code")).unwrap();
    expect![[r#"
        Ok
        code/lib.rs (lines 1-1 of 3)
             1	pub fn add(a: i32, b: i32) -> i32 {
    "#]]
    .assert_eq(
        &call(
            ws,
            "read_file",
            json!({"path": "code/lib.rs", "end_line": 1}),
        )
        .await,
    );
    expect![[r#"
        Ok
        created `code/new.rs` (3 bytes)"#]]
    .assert_eq(
        &call(
            ws,
            "write_file",
            json!({"path": "code/new.rs", "content": "//\n"}),
        )
        .await,
    );
    assert!(ws.join("src/new.rs").is_file());
}

#[tokio::test]
async fn fifos_are_refused_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let created = rein_sandbox::HostSandbox.exec(rein_sandbox::ExecRequest {
        argv: vec!["mkfifo".to_owned(), "pipe".to_owned()],
        cwd: ws.to_path_buf(),
        env: std::collections::BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
        timeout: std::time::Duration::from_secs(30),
        stdin: None,
        max_output_bytes: 1024,
    });
    assert_eq!(created.await.unwrap().exit_code, Some(0));
    expect![[r#"
        ToolFailed error
        `pipe` is not a regular file"#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "pipe"})).await);
    expect![[r#"
        ToolFailed error
        `pipe` is not a regular file; give the path of a file"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "pipe", "old_string": "a", "new_string": "b"}),
        )
        .await,
    );
}

/// Issue 10 (9c): `write_file` onto a FIFO answers at once with an error (it used to hang
/// until the step timeout) and leaves the FIFO as it was; so does `edit_file`. A regular
/// file beside it is still written.
#[tokio::test]
async fn file_tools_refuse_a_fifo_without_blocking() {
    let dir = project();
    let ws = dir.path();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        ws.join("pipe"),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let started = std::time::Instant::now();
    expect![[r#"
        ToolFailed error
        `pipe` is not a regular file (a FIFO, socket or device); file tools only write regular files"#]]
    .assert_eq(&call(ws, "write_file", json!({"path": "pipe", "content": "x"})).await);
    expect![[r#"
        ToolFailed error
        `pipe` is not a regular file; give the path of a file"#]]
    .assert_eq(
        &call(
            ws,
            "edit_file",
            json!({"path": "pipe", "old_string": "a", "new_string": "b"}),
        )
        .await,
    );
    expect![[r#"
        ToolFailed error
        `pipe` is not a regular file"#]]
    .assert_eq(&call(ws, "read_file", json!({"path": "pipe"})).await);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let file_type = std::fs::symlink_metadata(ws.join("pipe"))
        .unwrap()
        .file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&file_type));
    call(
        ws,
        "write_file",
        json!({"path": "ok.txt", "content": "fine\n"}),
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(ws.join("ok.txt")).unwrap(),
        "fine\n"
    );
}

/// Issue 10 (3, 9c): a second name of a protected file (`ln .git/config cfg`) cannot be
/// written through: the protected file stays byte-identical; an ordinary file is written.
#[tokio::test]
async fn write_file_refuses_a_hard_link_to_another_file() {
    let dir = project();
    let ws = dir.path();
    write(&ws.join(".git/config"), "[core]\n\tbare = false\n");
    std::fs::hard_link(ws.join(".git/config"), ws.join("cfg")).unwrap();
    let before = std::fs::read(ws.join(".git/config")).unwrap();
    expect![[r#"
        ToolFailed error
        `cfg` has 2 hard links: writing it would change another file too; remove it first"#]]
    .assert_eq(
        &call(
            ws,
            "write_file",
            json!({"path": "cfg", "content": "[core]\n\tfsmonitor = touch /tmp/x\n"}),
        )
        .await,
    );
    assert_eq!(std::fs::read(ws.join(".git/config")).unwrap(), before);
    call(ws, "write_file", json!({"path": "cfg2", "content": "ok\n"})).await;
    assert_eq!(std::fs::read_to_string(ws.join("cfg2")).unwrap(), "ok\n");
}
