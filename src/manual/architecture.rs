//! How the server works inside, and why: the part of the design that
//! lives in `server/` and spans several modules. Each module's own doc has
//! what is local to it.
//!
//! # Threads and sockets
//!
//! **One thread per connection**, publisher or player. It runs the
//! handshake with blocking reads, then loops: write what it owes without
//! blocking, sleep in `ppoll(2)` on its socket (for input, and for room to
//! write while it owes bytes) until the next timer is due, read and handle
//! what came (`server/rtmp/connection.rs`). It writes its own control messages
//! (replies, acknowledgements, pings) from its own buffer, and the media its
//! queue holds (`server/stream/writer.rs`). No timer ticks for an idle player: the
//! `ppoll` timeout is the next ping, idle-publisher or write deadline.
//!
//! **One socket, one descriptor**: the accepted `TcpStream` is an `Arc`
//! shared by the connection thread, the outlet the publisher writes through
//! (`&TcpStream` reads and writes) and the shutdown table.
//!
//! **Waking a player** (`server/net/waker.rs`): when the publisher queues for a
//! player whose thread sleeps with nothing queued (so once per time its
//! queue goes from empty to non-empty, not per frame), it sends that thread
//! SIGURG with `pthread_kill`. The signal is blocked in connection threads
//! except inside `ppoll`, which unblocks it atomically, so a wake-up sent
//! just before the thread sleeps ends the sleep at once instead of being
//! lost. A signal costs no descriptor; an eventfd or a pipe per connection
//! would add one or two, which the descriptor budget (one per connection)
//! does not allow. SIGURG's default action is to do nothing, and the kernel
//! raises it only for sockets with an owner (`F_SETOWN`), which the server
//! never sets; an embedding program that uses SIGURG itself still has its
//! handler called (signal-hook chains them). Linux only. Wake-ups are rare:
//! at 1000 live players the server sent no SIGURG in 4 s (`perf stat -e
//! signal:signal_generate`), nor in the throughput case.
//!
//! **Nagle** is on for players once `play` is accepted (`--nodelay` turns
//! it off); command replies go out with TCP_NODELAY. A player that reads
//! promptly acknowledges at once and gets every frame as it comes, while
//! the kernel gathers frames for a player that reads in batches, as
//! nginx-rtmp and SRS do. With `--nodelay` every write is its own segment:
//! at 1000 players the server spent 2.8-2.9 CPU s per 10 s instead of
//! 1.8-2.0, and server plus load tool 4.7 instead of 4.0. Over a long link
//! a frame's last segment can wait one round trip for an ACK, which
//! `--nodelay` avoids.
//!
//! Before this design each connection had a reader and a writer thread,
//! the writer woken through its crossbeam queue with a futex: 2 threads
//! and 1 descriptor per player and 32.6-36.2 KiB RSS per player (warmed
//! up, 2026-11-24); one thread with glibc's defaults took 29.4 KiB cold;
//! now 18.8-18.9 KiB cold, 1 thread and 1 descriptor.
//!
//! # The fan-out
//!
//! **Write-through.** Each published frame becomes one `Arc<Wire>` that
//! every player shares, with its RTMP chunks cut once and its other forms
//! built on first use (below). The publisher's thread adds the
//! frames of one read to the stream's pending batch and, after the read,
//! writes the batch itself, with one non-blocking `sendmsg` per player,
//! outside the stream's lock, to every player with nothing queued
//! (`server/stream/outlet.rs`, `server/stream/live_stream.rs`). Only what a socket cannot take
//! at once goes through the player's crossbeam queue, and the player's
//! thread writes it out as the socket takes room. Waking a thread per frame
//! per player cost more than the `send` itself. Per byte, the cost is the
//! number of `sendmsg` calls: ffmpeg sends a video frame with the audio due
//! beside it, about 2.5 frames a read, so writing a read's frames together
//! cut the server's CPU by a third (1000 players: 2.8 -> 1.9 s per 10 s)
//! without delaying anything.
//!
//! **Order.** A player's thread holds the outlet's turn lock while it takes
//! frames off its queue and writes them (frames taken but not yet written
//! stay counted as queued); the publisher only `try_lock`s it, and writes
//! only when nothing is queued (an atomic count in the outlet) and the
//! thread owes no control bytes. Otherwise it queues, so no two writers
//! ever interleave inside a message.
//!
//! **Sharded write-through** (`server/stream/fanout.rs`): writing a batch to each
//! player in turn costs 5-8 us a player, so with 2000 players the last one
//! waited about 15 ms a frame (a p99 of 47-65 ms). From 1000 players on, a
//! stream cuts its list into shares of at least 500, one per core (at most
//! 4); helper threads of the stream, started the first time, write all
//! shares but the first while the publishing thread writes the first, and
//! it waits for them before the next batch, so no batch or StreamEOF
//! overtakes another. Players are written in the order they joined.
//!
//! **Merged writes** (`--merge-write-ms N`) keep the batch until its oldest
//! frame is N ms old: fewer, larger writes. 100 ms (about 38 KB a write at
//! 3 Mbit/s) cost about 0.3 times nginx-rtmp's CPU per byte; 50 ms cost
//! 0.39 and 0.36 CPU s per GB at 200 and 1000 players, about 0.4 times.
//! Latency grows by up to N ms plus the gap to the next read. SRS's
//! `mw_latency` defaults to 350 ms.
//!
//! **One frame, several forms** (`server/stream/wire.rs`): the stream keeps each
//! frame once in a `Wire`: the `Frame` itself, and its RTMP chunks. The
//! first HTTP-FLV player to need a frame builds its FLV tag from the frame
//! (`media::flv`), and an HTTP/1.1 player's form wraps the tag in a chunk;
//! the built form is kept beside the chunks (a `OnceLock`) and shared by
//! every player of that form, so a frame is turned into each form once,
//! however many players take it. A stream with only RTMP players builds
//! nothing more. A player's queue holds one `Queued` item per frame (two
//! words: the `Arc<Wire>`), its own bytes (an FLV header, an init
//! segment), or the stream's begin and end; each socket takes the bytes of
//! the form it speaks. A kept frame holds its payload beside its RTMP
//! chunks, so the GOP cache's memory is about twice the RTMP bytes its
//! budget counts. The same goes for fMP4 (`media::fmp4`): the stream gives
//! each coded frame its fragment's place (sequence number, track, decode
//! time, duration) when it arrives, and the first fMP4 player to need the
//! frame builds its `moof` + `mdat`. The FLV header and the fMP4 init
//! segment are the per-player pieces, queued before an HTTP player's first
//! frame; an fMP4 player takes the write-through like any other unless its
//! init segment lacks a track the stream has. Frames chunked once can only
//! use the shared chunk streams, and a player's own encoder never
//! compresses headers there (see `protocol::chunk::ChunkEncoder`).
//!
//! **The timeline** (`Timeline` in `server/stream/timeline.rs`): a small lock of its
//! own, taken per frame before the frame is chunked, holds which
//! publisher's frames are taken (after a takeover, the replaced one's are
//! refused), the offset added to its timestamps and the last timestamp
//! sent; a new publisher's first frame sets the offset, so players'
//! timestamps go on 40 ms after the last ones sent. A stream that nobody
//! publishes or plays is forgotten, and starts again at the next
//! publisher's own timestamps.
//!
//! **Slow players**: the queue is bounded (1536 frames, 32 MiB); a full
//! queue skips to the next keyframe; a player is disconnected only when 600
//! frames are dropped while its thread writes nothing for at least 2 s, or
//! when its socket takes nothing for the write timeout (30 s). The 2 s is
//! there because a publisher without `-re` drops 600 frames in
//! milliseconds, less than a busy 2-core machine may leave a player's
//! thread unscheduled: without it, two of ten throughput players were
//! disconnected in one run.
//!
//! # Who may do what, and who is told
//!
//! **One admission path** (`server/control/admission.rs`): every door (RTMP, RTMPS,
//! HTTP-FLV, fMP4, HLS) asks it whether a connect, a publish or a play may
//! happen, before it starts any work: a drain, the name's fitness, a push
//! loop (the relay's trail), the access rules, the webhooks and the
//! `Policy`, then the pull (through `Fetch`, which the relays implement).
//! HLS asks once per viewer, at `index.m3u8`, and carries the answer to
//! every other file in a signed token (`server/http/hls_token.rs`, pure);
//! what is asked again at each file, and of every connection after a
//! reload, is `may_go_on`: the address lists and keys only. A change through the API asks
//! `access::Gate::may_change` with what `server/http/trust.rs` read of the
//! request (token, loopback, another site's page, a proxy), and the same
//! answer decides whether the caller sees stream names that a keys file
//! makes secret (`server/http/names.rs`). Whatever waits holds a counted
//! place: HTTP requests waiting for a segment or a publisher
//! (`server/http/held.rs`), connections per door and per address, pulls.
//!
//! **Settings in force** (`server/control/live.rs`): the `Config`, the access gates
//! and the deciding webhooks, each `PerApp` (the server's and one per
//! `[app.NAME]`), sit together in one `Arc` behind a lock. Each connection
//! takes the current one when it opens and keeps it for its life; a reload
//! (SIGHUP, `ServerHandle::reload`) swaps in a new one, so only new
//! connections see new settings, and with `reload_drops_refused` the open
//! set's publishers and players are asked again (each client keeps its
//! query and login for that). The workers fed by events (done and update
//! webhooks, commands) read the current settings at each event. The stream
//! settings are fixed at the start. Their checks are in
//! `server/validate.rs`.
//!
//! **Clients** (`server/control/clients.rs`): every open connection has an entry
//! beside its socket in the open set: what it does, its stream, its
//! `flashVer` and `tcUrl`, bytes read (counted by its thread) and written
//! (counted by its outlet, on both the write-through and its own writes,
//! and by `Client::counting` around what its thread writes itself: the
//! RTMP handshake and every HTTP answer, HLS files among them). The API,
//! `/stat` and `/metrics` read it; a kick shuts its socket down.
//!
//! **Hooks and events** (`server/stream/events.rs`, `server/control/hooks.rs`,
//! `server/control/exec.rs`, `policy.rs`): the registry, streams and the open set
//! emit `Event`s without waiting for a reader: into the embedding program's
//! bounded channel (`ServerHandle::events`) with `try_send`, and into one
//! queue per internal worker (the done and update webhooks, the exec
//! supervisor) that takes every end (a connection closed, a publish or play
//! stopped, a recording done) and, past 4096 queued, drops the rest,
//! counted in `/metrics`: a lost `publish_done` would leave an
//! `exec_publish` command running for ever. `shutdown` waits, within its
//! 2 s, for the connections to close and the recorders to finish their
//! files, then closes the workers' queues and waits for the workers to
//! handle what was queued (the done hooks, the exec commands stopped). The
//! webhooks worker also keeps the `on_update` timers: it waits for the next
//! event or the next update due, whichever comes first, and kicks a
//! connection whose update is refused (it holds the server weakly). A
//! connection thread asks the deciding webhooks, then the embedder's
//! `Policy`, after the access rules, before it answers `connect`, `publish`
//! or `play`; only that connection waits for a hook.
//!
//! **`authmod=adobe`** challenges (`server/control/auth.rs`) are stateless: the
//! opaque value carries its issue time, a nonce from the OS random source
//! and an HMAC-SHA256 signature under a secret drawn at start, and is good
//! for 60 s and one right answer. No table of outstanding challenges
//! exists, so a flood of challenge requests cannot make a right answer
//! fail. An unknown user is challenged like a known one and gets the same
//! `authfailed` as a wrong password.
//!
//! # Players inside the process
//!
//! In-process subscribers, recorders, push relays and HLS muxers all join
//! a stream the same way (`LocalPlayer` in `server/stream/local.rs`): as an outlet
//! with no socket and a player's queue bounds, so the fan-out queues
//! everything for them with the usual rules, and a thread of their own
//! takes the `Frame` each queued item holds, and the stream's end as an
//! item of its own.
//! Whether the stream may drop one that stalls, and whether it counts as
//! someone watching (a pull stays while someone does), are properties of
//! its `ClientKind`. The thread holds the outlet weakly: when the stream
//! lets go of it (too slow, shutdown) the queue closes and the thread ends
//! after what is queued. The recorder and the relays keep what a new file
//! or a new connection starts with in a `media::Configuration` (the latest
//! metadata and sequence header per track, and the tracks they show).
//!
//! - **In-process publish and subscribe**: a `Publisher` holds the name in
//!   the registry as a publishing connection does and pushes into the
//!   stream; a subscriber's thread hands each frame to the program's
//!   channel (8 frames).
//! - **Recording** (`media::recording`, pure; `server/record.rs`, the I/O):
//!   the recorder's thread feeds `Recording`, which answers with writes
//!   (open, append, patch and close) that the thread applies to `.part`
//!   files. Its outlet is exempt from the hang-up rule. It ends at the
//!   stream's end (the publish ended) or when the stream lets go of it (shutdown),
//!   finishing its file either way, and emits `Event::RecordingDone` for
//!   the hooks and commands before it leaves `Recorders`, the record wing's
//!   table, which shutdown waits to see empty.
//! - **Push relays** (`server/relay/push.rs`): one outlet per destination, kind
//!   `Relay` (exempt from the hang-up rule, like the recorder), whose thread
//!   sends the frames with `client::Publisher`, waking at least once a
//!   second to read what the destination sent (`Publisher::service`: pings,
//!   a closed socket) or, while disconnected, when the next dial is due.
//!   Its status (`Push`, atomics) sits in `Pushes`, the relay wing's
//!   table, for the API and metrics. Each destination re-chunks every frame through its own
//!   client, one write a frame: 6.35 CPU s per GB pushed to 10 destinations
//!   (2026-11-26), the place to save if pushes to many destinations matter.
//! - **Pulls** (`server/relay/pull.rs`): a thread per pulled stream plays the
//!   origin with the library's client (reads wake every second to look for
//!   players and for the server stopping) and, at the first frame, claims
//!   the stream in the registry like a publishing connection
//!   (`Publishing`), starting the recorder and push relays as a publish
//!   does. `Pulls` keeps one pull per stream.
//! - **HLS muxers** (`server/hls/muxer.rs`): one per stream, whose thread turns
//!   frames into fragments (`fmp4::Fragmenter`, shared with MP4 recording,
//!   timing the frames for whichever `Pack` makes the bytes: fMP4 or
//!   `ts::Muxer`) and keeps the segmenter (`media::hls`) behind a mutex
//!   with a condition variable. `server/hls/files.rs` writes the same
//!   segments and playlists to `--hls-dir`, from the muxer thread, outside
//!   the lock. Connection threads copy the `Arc`s of a part's or segment's
//!   bytes out under the lock and write them after, in one `writev`; a held
//!   request waits on the condition variable and holds no lock the media
//!   path needs. `Muxers` maps streams to their muxers; a muxer
//!   decides it is idle under that map's lock, where requests also count
//!   themselves, so no muxer ends under a request. Every muxer adds what it
//!   holds to one counter in `Muxers`, and sheds its own oldest segments
//!   while the counter is past `--hls-max-mb`. With `--hls-dir`, the
//!   muxers register for a publish starting (`control::started`), as the
//!   recorders and the push relays do, and start a muxer at the publish.
//!
//! # The HTTP side
//!
//! `server/http/` is a second door beside RTMP's, sharing the same wings
//! (connection limits, admission, registry, shutdown), handing each socket to a
//! thread of its own (`http/connection.rs`, the request loop). It reads
//! a request head with a deadline and a size cap, parses it with
//! `httparse` and routes it (`http/request.rs`, pure); `http/routes.rs`
//! says what each route answers (the API's calls in `http/calls.rs`, over
//! the server's `Operations`), `http/response.rs` builds heads and
//! refusals (pure), and `http/send.rs` writes them. Who sent a
//! request, as far as its head tells (`http/trust.rs`, pure: a `Host` the
//! server answers to, another site's `Origin` or `Sec-Fetch-Site`, a
//! proxy's `Forwarded`), decides whether the API takes a change without
//! the token; `--api-bind` gives the API a listener of its own, whose
//! connections serve every route while the HTTP port's serve media only.
//!
//! For `APP/NAME.flv` and `.mp4` the connection becomes a player
//! (`http/player.rs`): it subscribes an `Outlet`
//! like an RTMP player's, of another form, and then runs the same loop as
//! a player's RTMP thread: write what it owes (the response head first,
//! then the queue), sleep in `ppoll`, read and drop whatever the client
//! sends. An HTTP player is a player like any other: the publisher's
//! write-through, the sharded fan-out, the bounded queue and the
//! slow-player policy all apply.
//!
//! HLS requests (`http/hls.rs`) are answered from the stream's muxer;
//! `http/hls_token.rs` signs and checks the tokens that carry a viewer's
//! admission from `index.m3u8` to its other files: `hls_token=EXPIRES.MAC`,
//! an HMAC-SHA256 under a secret drawn at start of the stream admitted
//! (renamed maybe), the expiry and the viewer's address. A token lives 6
//! minutes, rounded up to the minute so that the viewers behind one
//! address (a cache, say) share URIs; a media playlist asked with one past
//! half its life hands out a new one.
//!
//! **Statistics** for the API live in the stream: bytes in and out per
//! second for the last minute (`server/stream/rates.rs`, pure), the publisher's
//! address and `flashVer` (given by its connection when it publishes), and
//! descriptions of the tracks read from the sequence headers
//! (`media::codec`); the MSE codec string comes from the same fMP4 tracks
//! the `.mp4` players get. `http/api.rs` turns them into JSON (serde_json)
//! and the dashboard (`http/dashboard.html`, built in with
//! `include_str!`) reads it. Its player, `http/player.js`, is spliced into
//! it once (`http/dashboard.rs`) and into each stream's page (`http/hls.rs`),
//! so neither fetches a script.
//!
//! # TLS
//!
//! RTMPS (`tls.rs`, used by `server/rtmp/rtmps.rs` and `client.rs`) ends at a
//! pump thread per connection, so that the RTMP machinery sees an ordinary
//! socket; the module's doc says why and how.
//!
//! # Memory
//!
//! - **Stacks**: thread stacks are 256 KiB of address space each, of which
//!   a connection thread touches three pages, 12 KiB: the top one holds
//!   glibc's thread descriptor and TLS (4.6 KiB), and the deepest call, a
//!   `play` reply built while a log line is written, reaches 10.7 KiB from
//!   the top. The handshake and the session run in sibling stack frames,
//!   and the handshake's buffers are dropped when it is done. A player that
//!   owes nothing holds no write buffers. Per player that leaves about
//!   7 KiB of heap (session, chunk decoder, outlet, queue block, stream
//!   entry) beside the stack. Kernel memory is mostly the thread: a 16 KiB
//!   kernel stack and its task, beside two socket ends; nginx-rtmp, one
//!   process, has only the sockets.
//! - **malloc**: the `rustic_rtmp` binary runs with glibc's per-thread
//!   malloc caches off: it re-execs itself once at start with
//!   `GLIBC_TUNABLES=glibc.malloc.tcache_count=0` unless that variable
//!   already sets it. Each thread's cache kept up to seven freed blocks of
//!   every small size out of other threads' reach, 8.5 KiB per idle
//!   player; the publishing thread, which does the allocating, showed no
//!   cost without it. Two arenas, no stack cache and a `malloc_trim` after
//!   connections close keep the churn soak flat (`scripts/soak.sh`): with
//!   tcache off only, glibc kept exited threads' stacks (12 KiB resident
//!   each) and returned freed memory only from the top of its 16 arenas,
//!   under the stream's long-lived frames. A program embedding the library
//!   chooses its own allocator settings.
//! - **Recursion**: none depends on peer input beyond AMF nesting, capped at
//!   64 levels whose frames fit 160 KiB even in a debug build (containers
//!   recurse through small functions of their own); aggregates are handled
//!   part by part. The fuzz entry points run on a 256 KiB stack too, so an
//!   overflow shows there.
//! - **Decoded AMF** is charged to a budget of 16 times the message
//!   (values, text, what AMF3 references copy), so no message multiplies in
//!   memory.
//! - **Held bytes**: each connection adds what its chunk decoder holds
//!   (unfinished messages and chunk) to a server-wide count after every
//!   read; its limits grow from the pre-publish ones once a publish is
//!   accepted.
//! - **Listen backlog**: listeners queue 1024 connections. std's 128 was
//!   too small for a thousand connections at once: the dropped SYNs waited
//!   a second each, 2.07 s for 1000 connects, against 0.053 s now.
