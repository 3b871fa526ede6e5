//! What clients see, in the detail the README leaves out. The README has
//! the flags, the URLs and the limits; this is the reference behind them.
//!
//! # RTMP
//!
//! - **Metadata**: `@setDataFrame onMetaData` from encoders is cached and
//!   sent to players as `onMetaData`. Other data messages are not forwarded.
//! - **Late joiners** get, in order: StreamBegin, Play.Reset, Play.Start,
//!   `|RtmpSampleAccess`, the cached `onMetaData`, the cached audio and
//!   video sequence headers (AVC, AAC, and Enhanced RTMP FourCC codecs),
//!   then the GOP since the last keyframe, then live frames. A GOP that does
//!   not fit the stream's cache is not cached and joiners wait for the next
//!   keyframe. A joiner starts as far behind live as the GOP is long, so a
//!   publish whose keyframes come more than 4 s apart is told at warn, once
//!   per publish (`conn#3 203.0.113.5:50000 publish app=live: keyframes
//!   10.0 s apart; ... set the encoder's keyframe interval to 1-2 s`).
//! - **Publisher leaves**: players get a User Control StreamEOF and stay
//!   connected. We never send `NetStream.Play.UnpublishNotify`, which makes
//!   ffmpeg and librtmp players quit.
//! - **One timeline for players.** A publisher that follows another on a
//!   stream with players (a republish, a pull failing over to the next
//!   origin, a takeover) has its timestamps offset to go on 40 ms after the
//!   last ones sent: ffmpeg restarts near 0 on every publish, and players
//!   whose timestamps jump back log "non monotonically increasing dts",
//!   stall or resync. The new publisher's metadata and sequence headers come
//!   before its first keyframe, as it sends them. With
//!   `--publisher-takeover` (an encoder that reconnects before the server
//!   noticed its old connection died gets the stream back) the old
//!   connection is closed, and the players stay without StreamEOF and go on
//!   from the new publisher's keyframe on the same timeline.
//! - **One publisher per name**: the second gets `NetStream.Publish.BadName`
//!   (level `error`, before any Publish.Start); an empty name gets the same,
//!   and `NetStream.Play.StreamNotFound` for `play`. A name or application
//!   that starts with `-` (an exec hook would take it for an option) or
//!   holds a control character or a Unicode non-character (XML cannot carry
//!   one) is refused to publishers and players alike.
//! - **Refusals**: `NetStream.Publish.Denied` for a wrong or missing key or
//!   a refused address, `NetStream.Publish.BadName` for a taken or empty
//!   name, `NetStream.Play.Failed` for a refused player, and `_error`
//!   `NetConnection.Connect.Rejected` with the `authmod=adobe` challenge
//!   for an encoder that must log in; then the connection closes (OBS shows
//!   an error instead of reconnecting for ever).
//! - **One `connect` per connection**: a second gets `_error`
//!   `NetConnection.Connect.Rejected` and changes nothing. **Media only from
//!   a publisher**: audio, video or metadata from a connection whose publish
//!   was not accepted is refused with a warning.
//! - **Slow players**: a player whose queue is full skips frames until the
//!   next keyframe, then gets the current sequence headers and that
//!   keyframe, so it never sees half a GOP. One that misses 600 frames in a
//!   row (about 8 s of 25 fps video with audio) while reading nothing, for
//!   at least 2 s, is disconnected with one warning; one that keeps
//!   reading, however slowly (say, behind a publisher sending faster than
//!   real time), only skips frames, as with nginx-rtmp.
//!   `ServerHandle::stats()` lists the frames dropped per player.
//! - **Dead and idle peers**: players that answer pings may wait for a
//!   stream as long as they like; a publisher's players get StreamEOF when
//!   it is closed for sending no media.
//! - **Aggregate messages** (type 22) are split into their audio, video
//!   and data parts, a few at a time; a part of any other type (an
//!   aggregate in an aggregate) ends the aggregate with a warning.
//! - **AMF**: every AMF0 marker, and AMF3 values behind the AVM+ switch
//!   marker in commands and data of type 17 and 15 (read as their AMF0
//!   equivalents). A message that does not decode is dropped with a
//!   warning; the connection goes on. AMF3 clients (objectEncoding 3) get
//!   their replies as type 17 commands.
//! - **Handshake**: a version-0 C1 (OBS, GStreamer, rtmpdump) gets the
//!   simple scheme; a C1 with a valid FP9 digest (ffmpeg, Flash) a digest
//!   S1 (version 5.0.3.1) and an S2 signed from it; a versioned C1 without
//!   a valid digest the simple scheme (`protocol::handshake` has the
//!   details).
//! - **Errors**: a broken limit closes that connection (or drops that one
//!   message) with a warning naming the peer and the limit. A connection
//!   thread that panics (a bug) is logged at error level and cleaned up;
//!   the server goes on.
//!
//! # HTTP
//!
//! - **Requests** are parsed with `httparse`; keep-alive holds for
//!   `OPTIONS` (and later for the API), 15 s between requests. Errors close
//!   the connection after a short plain-text answer: 400 for garbage or a
//!   path with an empty, `.` or `..` segment (also percent-escaped), a
//!   control character or bad escapes; 404 for anything not served; 405
//!   (with `Allow: GET, OPTIONS`) for other methods; 408 for a head not
//!   finished in time (slowloris); 413 for a request with a body; 431 for a
//!   head too long or with too many lines; 505 for HTTP/2 without upgrade.
//!   After an error the server reads and drops what the client still sends
//!   (within the limits), so the answer is not lost to a reset.
//! - **HTTP-FLV**: the FLV header's audio and video flags come from
//!   `onMetaData`'s `audiocodecid` and `videocodecid`, or `hasAudio` and
//!   `hasVideo`, or else the tracks whose configuration or frames came
//!   before the player's first tag; `onMetaData` is sent without
//!   `@setDataFrame`. Streams carry `Cache-Control: no-cache`. The body
//!   ends with the publish, as in SRS and MediaMTX.
//! - **Live fMP4**: the init segment is built when the player's first
//!   frame comes (the cached GOP's keyframe for a late joiner). Video is
//!   track 1, audio track 2, both counting milliseconds, so a fragment's
//!   decode time is its RTMP timestamp; each sample's duration is the gap
//!   before it on its track (the next frame's is not known yet), which
//!   players correct from the next fragment's decode time. Codecs: H.264
//!   (`avcC`), HEVC (`hvcC`), AV1 (`av1C`), VP9 (`vpcC`), AAC (`esds`),
//!   Opus (`dOps`), MP3; legacy FLV and Enhanced RTMP single-track tags. The
//!   415 names the codec (`FLV audio codec 11` for Speex). The response is
//!   `video/mp4`.
//! - **HLS playlists**: `index.m3u8` is a multivariant playlist with the
//!   stream's `CODECS`, pointing to `stream.m3u8` (SRS's `APP/NAME.m3u8`
//!   points to `NAME/stream.m3u8`). LL-HLS parts are listed with
//!   `#EXT-X-PART` and `INDEPENDENT=YES` where they start at a keyframe,
//!   with `#EXT-X-PART-INF`, `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,
//!   PART-HOLD-BACK=0.6` and `#EXT-X-PRELOAD-HINT`; a request for the
//!   hinted part is held until it exists. A held request past the limits
//!   gets 503 with `Retry-After` and the connection closed, so a client
//!   opening a thousand gets no thousand threads kept. A request for a
//!   segment never starts a muxer. A muxer started again numbers its
//!   segments from the Unix time it started, so no URL changes content.
//!   Codecs: what the fMP4 muxer carries.
//! - **HLS admission**: `?key=` and the play address rules apply to every
//!   request. The `Policy` and `on_play` hook are asked for `index.m3u8`;
//!   when they rename the stream, the playlist points to the new name's
//!   `stream.m3u8` from the server's root, so the player's next requests
//!   name the stream it plays. When either decides plays, `stream.m3u8`,
//!   segments, parts and init segments are refused with 403 without a
//!   valid token for that stream from that address; a player that stops
//!   reloading for 3 minutes goes back through `index.m3u8`. Without a
//!   `Policy` or `on_play` hook no token is asked for.
//! - **HLS viewers**: at most 10 000 are told apart per stream; each is
//!   listed in `/api/v1/clients` as SRS does, with its address (port 0),
//!   stream, body bytes sent and time since its first request (it has no
//!   connection to kick). `rustic_rtmp_hls_requests_total{file=playlist|init|segment|part}`
//!   counts the requests answered.
//! - **MPEG-TS HLS**: `seg{N}.ts` (`video/mp2t`), every segment opening
//!   with the PAT and PMT (see `media::ts` for how frames are carried). One
//!   variant per server, like nginx-rtmp's `hls_fragment` settings.
//! - **`--hls-dir`**: every published stream is muxed while it is
//!   published, asked for or not. The playlist on disk lists no parts (a
//!   file cannot hold a blocking request). When the publisher leaves its
//!   last segment is closed and written. No playlist gets `#EXT-X-ENDLIST`:
//!   an encoder that reconnects goes on in the same playlist, and players
//!   waiting on it go on too. The next muxer of the same stream removes the
//!   old segments (its numbers never reuse theirs). Names are encoded for
//!   paths as for recordings (`cam,1` in `live/cam%2C1/`).
//! - **The stream's page** (`/APP/NAME/`; `/APP/NAME` is moved there with
//!   its query by a 301) takes the viewer's query (`?key=`) to both the MSE
//!   and the HLS player. It is written with the stream's MSE type in it, so
//!   it is sent `Cache-Control: no-cache`; asked before the stream is live,
//!   it asks for itself again every 2 s (for up to 10 min) until it is, and
//!   after the stream ends waits for it to come back. With `--no-hls` it
//!   still plays through MSE.
//!
//! # The API
//!
//! - The envelope: `{"code":0,"server":"rustic_rtmp","service":"<an id for
//!   this start>","pid":N,…}`; `code` is 0 on success, else the HTTP status.
//!   Stream ids are numbers, one per stream while it has a publisher or a
//!   player.
//! - A stream: `{"id":"3","app":"live","name":"cam","clients":4,"send_bytes":…,"recv_bytes":…,"kbps":{"recv_30s":…,"send_30s":…},"publish":{"active":true,"cid":"7","address":"10.0.0.2:50000","encoder":"FMLE/3.0 …"},"video":{"codec":"H264","profile":"High","level":"3.1","width":1280,"height":720,"fps":30},"audio":{"codec":"AAC","profile":"LC","sample_rate":48000,"channel":2}}`,
//!   plus ours: `tcUrl` (the publisher's), `players` by protocol, `frames`,
//!   `dropped`, `last_timestamp_ms`, `live_ms`, `kbps_in_60s` (the last 60
//!   seconds), `mse_type` (the `type` MSE takes for the `.mp4` URL),
//!   `gop_cache` (`frames`, `bytes`), `tracks` (every configured track with
//!   its codec, `{"type":"video","track":1,"codec":"AV1"}`: Enhanced RTMP
//!   multitrack streams have several) and `push` (`destination` without its
//!   stream key, `connected`, `send_bytes`, `reconnects`, `last_error`).
//!   Resolution, profile, level and frame rate come from the H.264 or HEVC
//!   SPS (frame rate from H.264's VUI timing), rate and channels from AAC's
//!   AudioSpecificConfig or Opus's header, else from the FLV tag's bits.
//! - A client: `id`, `ip`, `addr`, `stream` (its stream's id), `app`,
//!   `name`, `url`, `type`, `publish`, `alive` (seconds), `send_bytes`,
//!   `recv_bytes`, `kbps` (over the connection's life: no per-client
//!   history is kept), `dropped_frames`, `flashver`, `tcUrl`. Kicking a
//!   publisher sends its players StreamEOF, as when it stops.
//! - `summaries`: `data.self` (version, pid, `mem_kbyte` RSS,
//!   `cpu_seconds`, `srs_uptime`), open and accepted connections, streams,
//!   bytes read and written by every connection since the start.
//!   `/healthz` answers on every HTTP address, for any `Host`.
//! - Recording through the API uses the stream's application's recording
//!   settings, else the server's (a `record_dir` is needed somewhere);
//!   `DELETE` stops every recording of the stream: the recorder writes what
//!   was queued for it and closes its file, which fires `on_record_done`.
//! - Reading needs no token. The stand-in for a secret name (`~` and 12
//!   hex digits of an HMAC of it) is shown to a caller that may not change
//!   things and to any page of another origin, and stays the same for one
//!   stream while the server runs.
//!
//! # `/stat` and `/metrics`
//!
//! - `/stat`: `<rtmp>` with `nginx_version`, `nginx_rtmp_version` and
//!   `built` (ours say `rustic_rtmp VERSION`), `pid`, `uptime` (s),
//!   `naccepted`, `bw_in`/`bw_out` (bits/s over the last 10 s),
//!   `bytes_in`/`bytes_out`; then `<server><application><name>…<live>` with
//!   a `<stream>` per stream (`name`, `time` in ms, `bw_in`, `bytes_in`,
//!   `bw_out`, `bytes_out`, `bw_audio`, `bw_video`, a `<client>` per
//!   connection with `id`, `address`, `time`, `flashver` (cut to 32
//!   characters, as nginx-rtmp does), `dropped`, `avsync`, `timestamp`,
//!   `<publishing/>` for the publisher and `<active/>`; `<meta>` with
//!   `<video>` (width, height, frame_rate, codec, profile, compat, level)
//!   and `<audio>` (codec, profile, channels, sample_rate); `nclients`,
//!   `<publishing/>`, `<active/>`) and the application's `nclients`. What
//!   differs from nginx-rtmp: `avsync` is always 0 (not measured), `time`
//!   counts from the publish, and a stream whose players wait for a
//!   publisher is listed (nginx-rtmp lists it too, without
//!   `<publishing/>`).
//! - `/metrics` (Prometheus text format 0.0.4): gauges
//!   `rustic_rtmp_build_info{version}` (1), `rustic_rtmp_streams` (with a
//!   publisher), `rustic_rtmp_players{protocol="rtmp|flv|mp4|local|record"}`,
//!   `rustic_rtmp_connections`, `rustic_rtmp_stream_players{app,name}`,
//!   `rustic_rtmp_push_connected`, `rustic_rtmp_threads` (threads have no
//!   standard name); counters `rustic_rtmp_connections_accepted_total`,
//!   `rustic_rtmp_connections_refused_total{reason="max_connections|max_connections_per_ip"}`,
//!   `rustic_rtmp_received_bytes_total`, `rustic_rtmp_sent_bytes_total`
//!   (every byte written: media, the RTMP handshake, every HTTP answer, HLS
//!   files, the API and refusals among them),
//!   `rustic_rtmp_slow_players_disconnected_total`,
//!   `rustic_rtmp_record_errors_total`,
//!   `rustic_rtmp_hook_events_dropped_total` (events the webhooks and exec
//!   workers were too far behind to queue: starts, never an end),
//!   `rustic_rtmp_stream_dropped_frames_total{app,name}`,
//!   `rustic_rtmp_stream_received_bytes_total{app,name}`,
//!   `rustic_rtmp_stream_sent_bytes_total{app,name}` (handed to its
//!   players, the server's own among them, and HLS files served to its
//!   viewers: the stream's `send_bytes` in the API), `push_sent_bytes_total`
//!   and `push_reconnects_total` (by stream and destination); and
//!   `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//!   `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
//!   `process_start_time_seconds`, read from /proc/self as every Prometheus
//!   client library exports them.
//!
//! # Hooks
//!
//! - **Webhooks**: publishes carry `type=live`, plays `start`, `duration`
//!   and `reset`; `tcurl` and `pageurl` are empty (RTMP clients rarely send
//!   them and they are not kept). A client's `?args` named as one of ours
//!   (`?name=`, `?call=`) never shadows the server's. A 3xx to an
//!   `rtmp://` URL is `Decision::Relay` for a `Policy`. No redirect is
//!   followed; 4xx and 5xx are answers. Unlike nginx-rtmp, which drops the
//!   TCP connection so that OBS retries for ever, a denial is answered
//!   before any Start with the reason. The deciding hooks are asked after
//!   the access flags and before an embedding program's `Policy`.
//!   `on_done` is told when a connection that published or played closes,
//!   with the last stream it had. `on_update` gets `call=update_publish` or
//!   `update_play`, `time` (seconds since it started) and `timestamp` (the
//!   same in ms). Each call uses the hooks of the stream's application in
//!   force at that moment.
//! - **Exec hooks**: on the command line a command's words are split at
//!   spaces; in the config file a key holds one command as an array of
//!   words or an array of such commands; an embedding program gives argv
//!   vectors in `Hooks`. An `exec_publish` process is back to a 1 s restart
//!   delay after a 30 s run; SIGKILL comes 2 s after SIGTERM (a server
//!   stopping waits for that within its own 2 s, so a command that ignores
//!   SIGTERM may outlive it). A command that exits within 10 s of its start
//!   (or a one-off that fails) has its first five lines logged at warn,
//!   since they say why. Past 64 play commands at once a play's command is
//!   left out and the log says so. Publishers and players inside an
//!   embedding program (`ServerHandle::publish`, `subscribe`) run no
//!   commands and call no hooks.
//!
//! # Relays and recording
//!
//! - **Push**: `{app}` and `{name}` are replaced and the local name is
//!   added to a URL that names no stream (`cam` to
//!   `rtmp://a.rtmp.youtube.com/live2` goes to `.../live2/cam`), as
//!   nginx-rtmp does. Each pause before a
//!   new dial is varied by a quarter either way; the first failure in a row
//!   and every tenth after it are logged at warn (`push#7 to
//!   rtmp://a.rtmp.youtube.com/live2 failed (11 failures in a row): cannot
//!   connect to ...: Connection refused (os error 111); next try in
//!   31.2s`), the others at debug. After each connect a destination gets
//!   the metadata and sequence headers, then frames from the next keyframe.
//!   The relays end with the publish. A relay connects with `flashVer`
//!   `FMLE/3.0 (compatible; rustic_rtmp relay; port=N; via=ID.ID)`, naming
//!   its server's RTMP port and the ids (6 hex digits, drawn at start) of
//!   the servers the stream was pushed through, its own last. A
//!   rustic_rtmp never pushes a stream back to the server it came from (a
//!   pulled stream is not pushed to its origin either), refuses a publish
//!   whose trail holds its own id (`NetStream.Publish.Denied` with `a push
//!   loop`), and pushes a stream that passed 6 servers no further. Pushes
//!   added through the API or after a reload start a new trail. A reload's
//!   push list applies to live streams at once: destinations that left it
//!   stop, new ones start; those added through the API or a webhook stay.
//! - **Pull**: an origin that refuses, drops the connection or sends
//!   nothing for 10 s gives way to the next; after a round over all of them
//!   the pull waits 1 s, then 2, … up to 30 s. Recorders and push relays do
//!   not count as players for `--pull-idle-seconds`. The edge's API shows
//!   the stream's publisher as `pull from rtmp://origin/app`.
//! - **Recording**: in app and name every character but letters, digits,
//!   `-`, `_` and an inner `.` becomes `%XX`, and a name past 160 bytes ends
//!   in `~` and a hash of the whole (cutting to `_` once gave `cam,1` and
//!   `cam_1` one file). An audio-only file starts at any audio frame. FLV
//!   files open with the publisher's `onMetaData` plus `duration` and
//!   `filesize`, both patched when the file closes; MP4 files write a
//!   fragment per frame once the next frame gives its duration, so a file
//!   cut off by a crash plays up to its last second; only a crash or
//!   SIGKILL leaves a `.part`. The recorder has a player's queue bounds: a
//!   slow disk skips to the next keyframe (counted in the stream's
//!   `dropped`). The publish ends the file; a republish starts a new one.
//!   Recorders count as `players.record` in the API.
//! - **RTMPS**: PEM files read with `rustls-pki-types`, the ring provider.
//!   The handshake's 5 s is for the whole of it, not per read, and a bad
//!   one closes that socket only. If new certificate files do not load,
//!   the old certificate stays and the log says why. As a client, relays
//!   use port 443 unless given and check against `webpki-roots`;
//!   `--push-insecure` asks for no chain of trust but still checks the
//!   handshake's signatures against the certificate's key. Everything else
//!   (access rules, API, hooks, players) is as for RTMP.
//!
//! # Embedding
//!
//! - A `Policy`'s `Deny(reason)` reaches the client as
//!   `NetConnection.Connect.Rejected`, `NetStream.Publish.Denied` or
//!   `NetStream.Play.Failed` with the reason, an HTTP player as a 403;
//!   `Rename(name)` publishes or plays another name in the same
//!   application.
//! - `ServerHandle::events` is bounded (4096): events a late reader has no
//!   room for are lost, and a program that never reads costs nothing but
//!   that room.
//! - A `Publisher` sends FLV tag bodies and `onMetaData`; dropping it ends
//!   the publish with StreamEOF. A subscriber starts with the stream's
//!   metadata, sequence headers and cached GOP, stays across republishes,
//!   and when dropped as stalled its channel ends after what was queued.
