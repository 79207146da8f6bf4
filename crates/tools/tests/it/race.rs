//! File tools against a path swapped between a folder and a symlink to outside while they
//! run (check-then-use races): never a byte outside the workspace is read or written.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::json;

use crate::call;

const OUTSIDE_CONTENT: &str = "OUTSIDE-SECRET\n";

/// Keeps replacing `workspace/dir` by a real folder (with `file.txt`) or a symlink to
/// `outside`, until `stop`; counts the swaps.
fn swap_until(workspace: &Path, outside: &Path, stop: &AtomicBool, n_swaps: &AtomicU64) {
    let dir = workspace.join("dir");
    let mut make_link = true;
    while !stop.load(Ordering::Relaxed) {
        match std::fs::symlink_metadata(&dir) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let _ = std::fs::remove_file(&dir);
            }
            Ok(_) => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(_) => {}
        }
        if make_link {
            let _ = std::os::unix::fs::symlink(outside, &dir);
        } else if std::fs::create_dir(&dir).is_ok() {
            let _ = std::fs::write(dir.join("file.txt"), "inside\n");
        }
        make_link = !make_link;
        n_swaps.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_a_folder_for_a_symlink_never_leaks_outside() {
    let workspace = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("file.txt"), OUTSIDE_CONTENT).unwrap();
    std::fs::write(outside.path().join("marker-outside"), "").unwrap();
    let ws = workspace.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let n_swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (ws, outside, stop, n_swaps) = (
            ws.clone(),
            outside.path().to_path_buf(),
            stop.clone(),
            n_swaps.clone(),
        );
        std::thread::spawn(move || swap_until(&ws, &outside, &stop, &n_swaps))
    };

    let mut n_read_inside = 0;
    for round in 0..400 {
        let read = call(&ws, "read_file", json!({"path": "dir/file.txt"})).await;
        assert!(!read.contains("OUTSIDE-SECRET"), "round {round}: {read}");
        if read.contains("inside") {
            n_read_inside += 1;
        }
        let edited = call(
            &ws,
            "edit_file",
            json!({"path": "dir/file.txt", "old_string": "SECRET", "new_string": "EDITED"}),
        )
        .await;
        assert!(!edited.starts_with("Ok\nedited"), "round {round}: {edited}");
        let _ = call(
            &ws,
            "write_file",
            json!({"path": "dir/file.txt", "content": "WRITTEN\n"}),
        )
        .await;
        let _ = call(
            &ws,
            "write_file",
            json!({"path": "dir/sub/new.txt", "content": "WRITTEN\n"}),
        )
        .await;
        let listed = call(&ws, "list_dir", json!({"path": "dir"})).await;
        assert!(
            !listed.contains("marker-outside"),
            "round {round}: {listed}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();

    // The outside folder holds exactly what it held, byte for byte.
    let mut names: Vec<String> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["file.txt", "marker-outside"]);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("file.txt")).unwrap(),
        OUTSIDE_CONTENT
    );
    // The race really happened: the swapper ran and some reads found the inside file.
    assert!(n_swaps.load(Ordering::Relaxed) > 100);
    assert!(n_read_inside > 0);
}
