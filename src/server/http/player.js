// The live player of the dashboard and of the stream page (/APP/NAME/):
// Media Source Extensions fed from a stream's live fMP4 (/APP/NAME.mp4),
// kept near its newest frame. The server splices this file into both
// pages, so it must never hold the characters that end a <script>.

// Whether this browser's MSE plays `type` (the stream's `mse_type`).
function livePlayerPlays(type) {
  return Boolean(window.MediaSource && type && MediaSource.isTypeSupported(type));
}

// Plays the live fMP4 at `url`, whose MIME type with codecs is `type`, in
// `video`. `on.error(text)` hears of a failure, `on.ended()` of the stream
// ending, `on.tick()` every 250 ms while it plays. Returns `{ stop(),
// appended }`, `appended` the bytes given to the decoder so far.
function livePlayer(video, url, type, on) {
  const abort = new AbortController();
  const player = { appended: 0, stop: null };
  let timer = 0;
  const fail = (e) => { if (on.error) on.error(String(e)); };
  player.stop = () => {
    abort.abort();
    clearInterval(timer);
    video.removeAttribute("src");
    video.load();
  };
  const media = new MediaSource();
  video.src = URL.createObjectURL(media);
  media.addEventListener("sourceopen", () => {
    const buffer = media.addSourceBuffer(type);
    buffer.mode = "segments";
    const queue = [];
    const pump = () => {
      if (buffer.updating || !queue.length || media.readyState !== "open") return;
      try {
        buffer.appendBuffer(queue.shift());
      } catch (e) {
        // Full: drop what is well behind the play head, then go on.
        if (e.name === "QuotaExceededError" && video.currentTime > 5) {
          buffer.remove(0, video.currentTime - 3);
        } else {
          fail(e);
        }
      }
    };
    buffer.addEventListener("updateend", pump);
    (async () => {
      try {
        const response = await fetch(url, { signal: abort.signal });
        if (!response.ok) throw new Error(response.status + " " + (await response.text()));
        const reader = response.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          player.appended += value.length;
          queue.push(value);
          pump();
        }
        if (on.ended) on.ended();
      } catch (e) {
        if (e.name !== "AbortError") fail(e);
      }
    })();
    // Keep the play head near the live edge: jump when more than half a
    // second behind what has arrived, speed up a little when behind by
    // half that, and let go of what was played long ago.
    timer = setInterval(() => {
      const ranges = video.buffered;
      if (ranges.length) {
        const end = ranges.end(ranges.length - 1);
        if (video.currentTime < ranges.start(ranges.length - 1) || end - video.currentTime > 0.5) {
          video.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.1);
        }
        video.playbackRate = end - video.currentTime > 0.25 ? 1.1 : 1.0;
        if (video.paused) video.play().catch(() => {});
        if (!buffer.updating && video.currentTime - ranges.start(0) > 30) {
          buffer.remove(ranges.start(0), video.currentTime - 10);
        }
      }
      if (on.tick) on.tick();
    }, 250);
  });
  return player;
}
