//! Who is at the other end of a stream: a connection's number and what
//! it does, as the API names it.

/// Identifies a connection in logs and in a stream's player list.
pub(crate) type ConnId = u64;

/// What a connection does, in SRS's `type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Connected, not publishing or playing yet (or an HTTP request).
    Idle,
    /// Publishing with an encoder's flashVer (`FMLE/...`: OBS, ffmpeg).
    FmlePublish,
    /// Publishing with any other flashVer.
    FlashPublish,
    /// Playing over RTMP.
    RtmpPlay,
    /// Playing HTTP-FLV.
    FlvPlay,
    /// Playing live fMP4.
    Mp4Play,
    /// Publishing from inside the embedding program
    /// (`ServerHandle::publish`).
    LocalPublish,
    /// Playing inside the embedding program (`ServerHandle::subscribe`).
    LocalPlay,
    /// Recording a stream to files.
    Recorder,
    /// Pushing a stream to another server.
    Relay,
    /// Muxing a stream for HLS viewers.
    Hls,
    /// An HLS viewer: not a connection but the requests of one address
    /// and `User-Agent` (`hls::Viewer`).
    HlsPlay,
    /// Publishing MPEG-TS over SRT.
    SrtPublish,
    /// Reading MPEG-TS over SRT.
    SrtPlay,
    /// Muxing a stream into MPEG-TS for its SRT readers.
    SrtFeed,
}

impl ClientKind {
    /// The name the API gives it.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Idle => "idle",
            ClientKind::FmlePublish => "fmle-publish",
            ClientKind::FlashPublish => "flash-publish",
            ClientKind::RtmpPlay => "rtmp-play",
            ClientKind::FlvPlay => "flv-play",
            ClientKind::Mp4Play => "mp4-play",
            ClientKind::LocalPublish => "local-publish",
            ClientKind::LocalPlay => "local-play",
            ClientKind::Recorder => "record",
            ClientKind::Relay => "push",
            ClientKind::Hls => "hls",
            ClientKind::HlsPlay => "hls-play",
            ClientKind::SrtPublish => "srt-publish",
            ClientKind::SrtPlay => "srt-play",
            ClientKind::SrtFeed => "srt-feed",
        }
    }

    /// Whether the stream may drop it for falling behind: players and
    /// in-process subscribers, not the server's own recorders, relays and
    /// HLS muxers, which only skip to the next keyframe (a slow disk, a
    /// destination reconnecting).
    pub(crate) fn dropped_when_stalled(self) -> bool {
        !matches!(
            self,
            ClientKind::Recorder | ClientKind::Relay | ClientKind::Hls | ClientKind::SrtFeed
        )
    }

    /// Whether someone watches through it, so that a pulled stream is kept:
    /// not a recorder or a push relay.
    pub(crate) fn watches(self) -> bool {
        !matches!(self, ClientKind::Recorder | ClientKind::Relay)
    }

    /// Whether it publishes.
    pub fn publishes(self) -> bool {
        matches!(
            self,
            ClientKind::FmlePublish | ClientKind::FlashPublish | ClientKind::LocalPublish | ClientKind::SrtPublish
        )
    }
}
