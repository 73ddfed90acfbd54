"""VideoSearch on the YouTube Data API v3 (search.list). Best effort, short timeout."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from flowgen.content import VideoBlock


class YouTubeSearch:
    def __init__(self, api_key: str, *, base_url: str = "https://www.googleapis.com", timeout: float = 3.0) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def find(self, query: str) -> VideoBlock | None:
        params = urllib.parse.urlencode(
            {
                "part": "snippet",
                "q": query[:200],
                "type": "video",
                "maxResults": 1,
                "safeSearch": "strict",
                "videoEmbeddable": "true",
                "relevanceLanguage": "en",
                "key": self.api_key,
            }
        )
        url = f"{self.base_url}/youtube/v3/search?{params}"
        with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 - https or loopback
            items = json.load(response).get("items", [])
        for item in items:
            video_id = item.get("id", {}).get("videoId")
            title = item.get("snippet", {}).get("title")
            if video_id and title:
                return VideoBlock(type="video", title=title[:400], url=f"https://www.youtube.com/watch?v={video_id}")
        return None
