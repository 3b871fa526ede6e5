//! HLS on disk (`--hls-dir DIR`): a stream's playlists, init segment and
//! segments written to `DIR/APP/NAME/` (each part encoded by `path_name`,
//! one directory per stream) as they are made, for any web
//! server or CDN origin to serve as plain files, as nginx-rtmp's
//! `hls_path` does. The media playlist on disk lists no LL-HLS parts (a
//! file cannot hold a blocking request); segments that drop off it are
//! deleted.
//!
//! Every file is written to a temporary name and renamed into place, so a
//! web server never serves half a file.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::media::StreamKey;

/// One stream's directory and the segment files in it.
pub(crate) struct Files {
    dir: PathBuf,
    /// Segment file names written and still listed, oldest first.
    listed: VecDeque<String>,
    /// The newest segment written, and the init segment.
    pub(crate) newest: Option<u64>,
    pub(crate) init: Option<u32>,
}

/// One batch of files to write: what the muxer made since the last.
#[derive(Default)]
pub(crate) struct Batch {
    /// (file name, its bytes in pieces): the init segment and new
    /// segments.
    pub(crate) files: Vec<(String, Vec<Arc<[u8]>>)>,
    /// `stream.m3u8`'s text, and the segment file names it lists.
    pub(crate) playlist: String,
    pub(crate) listed: Vec<String>,
    /// `index.m3u8`'s text.
    pub(crate) multivariant: String,
}

impl Files {
    /// The directory of `key` under `root`, made if missing, with the
    /// segment and init files of an earlier muxer of the stream removed
    /// (their numbers never come back).
    pub(crate) fn open(root: &Path, key: &StreamKey) -> io::Result<Files> {
        let mut dir = root.to_path_buf();
        for part in key.app.split('/') {
            dir.push(crate::server::net::path_name::encode(part));
        }
        dir.push(crate::server::net::path_name::encode(&key.name));
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if is_segment(&name) || (name.starts_with("init") && name.ends_with(".mp4")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Files {
            dir,
            listed: VecDeque::new(),
            newest: None,
            init: None,
        })
    }

    /// Writes a batch: the new files, then the playlists that list them,
    /// then removes the segments no longer listed.
    pub(crate) fn write(&mut self, batch: Batch) -> io::Result<()> {
        for (name, pieces) in &batch.files {
            self.put(name, pieces)?;
            if is_segment(name) {
                self.listed.push_back(name.clone());
            }
        }
        self.put("stream.m3u8", &[batch.playlist.as_bytes().into()])?;
        self.put("index.m3u8", &[batch.multivariant.as_bytes().into()])?;
        while let Some(oldest) = self.listed.front() {
            if batch.listed.contains(oldest) {
                break;
            }
            let _ = std::fs::remove_file(self.dir.join(oldest));
            self.listed.pop_front();
        }
        Ok(())
    }

    /// Writes `name` whole: to a temporary name, then renamed.
    fn put(&self, name: &str, pieces: &[Arc<[u8]>]) -> io::Result<()> {
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temporary)?;
        for piece in pieces {
            file.write_all(piece)?;
        }
        drop(file);
        std::fs::rename(&temporary, self.dir.join(name))
    }
}

fn is_segment(name: &str) -> bool {
    name.starts_with("seg") && (name.ends_with(".m4s") || name.ends_with(".ts"))
}
