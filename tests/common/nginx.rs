//! nginx with the RTMP module as a peer: a foreground, single-process nginx
//! on a free loopback port with a generated config.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use super::{Proc, Scratch, spawn, wait_until};

/// Debian's libnginx-mod-rtmp.
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

pub struct Nginx {
    pub addr: SocketAddr,
    /// Where `GET /stat` answers (`rtmp_stat all`), when asked for.
    pub stat: Option<SocketAddr>,
    _proc: Proc,
}

/// A port the OS says is free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts nginx with `applications` inside its rtmp server block.
pub fn start(scratch: &Scratch, applications: &str) -> Nginx {
    launch(scratch, applications, false)
}

/// `start`, with an HTTP server answering `/stat` as well.
pub fn start_with_stat(scratch: &Scratch, applications: &str) -> Nginx {
    launch(scratch, applications, true)
}

fn launch(scratch: &Scratch, applications: &str, stat: bool) -> Nginx {
    let port = free_port();
    let stat_port = free_port();
    let conf = scratch.path("nginx.conf");
    let prefix = scratch.path("nginx");
    fs::create_dir_all(&prefix).unwrap();
    // master_process off keeps nginx one process, so stopping it by its PID
    // leaves no worker behind.
    fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nerror_log stderr info;\npid {pid};\n\
             load_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\n\
             rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n{applications}\n  }}\n}}\n{http}",
            pid = prefix.join("nginx.pid").display(),
            http = if stat {
                format!(
                    "http {{\n  access_log off;\n  client_body_temp_path {p}/body; proxy_temp_path {p}/proxy;\n  \
                     fastcgi_temp_path {p}/fcgi; uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;\n  \
                     server {{ listen 127.0.0.1:{stat_port}; location /stat {{ rtmp_stat all; }} }}\n}}\n",
                    p = prefix.display()
                )
            } else {
                String::new()
            },
        ),
    )
    .unwrap();
    let (proc, addr) = run_nginx(&prefix, &conf, port);
    let stat = stat.then(|| SocketAddr::from(([127, 0, 0, 1], stat_port)));
    if let Some(stat) = stat {
        wait_until("nginx to listen for HTTP", || TcpStream::connect(stat).is_ok());
    }
    Nginx {
        addr,
        stat,
        _proc: proc,
    }
}

/// nginx as an HTTP cache in front of `upstream`: `proxy_cache` with
/// `proxy_cache_lock` (one request upstream for many alike at once), the
/// upstream's `Cache-Control` deciding how long each answer is kept.
pub fn start_cache(scratch: &Scratch, upstream: SocketAddr) -> Nginx {
    let port = free_port();
    let conf = scratch.path("nginx-cache.conf");
    let prefix = scratch.path("nginx-cache");
    fs::create_dir_all(&prefix).unwrap();
    fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nerror_log stderr warn;\npid {p}/nginx.pid;\n\
             events {{ worker_connections 2048; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {p}/body; proxy_temp_path {p}/proxy;\n  \
             fastcgi_temp_path {p}/fcgi; uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;\n  \
             proxy_cache_path {p}/cache levels=1:2 keys_zone=hls:10m max_size=200m inactive=60s use_temp_path=off;\n  \
             server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://{upstream};\n      \
             proxy_cache hls;\n      proxy_cache_lock on;\n      proxy_cache_lock_timeout 5s;\n      \
             proxy_cache_key $uri$is_args$args;\n      add_header X-Cache $upstream_cache_status;\n    }}\n  }}\n}}\n",
            p = prefix.display()
        ),
    )
    .unwrap();
    let (proc, addr) = run_nginx(&prefix, &conf, port);
    Nginx {
        addr,
        stat: None,
        _proc: proc,
    }
}

/// Starts nginx in `prefix` with `conf` and waits for it on `port`.
fn run_nginx(prefix: &std::path::Path, conf: &std::path::Path, port: u16) -> (Proc, SocketAddr) {
    let proc = spawn(
        Command::new("nginx")
            .arg("-p")
            .arg(prefix)
            .args(["-e", "stderr", "-c"])
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_until("nginx to listen", || TcpStream::connect(addr).is_ok());
    (proc, addr)
}
