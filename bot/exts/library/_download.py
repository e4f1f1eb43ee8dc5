"""An attachment, downloaded from Discord's CDN within a size limit: refused from its declared
size before a byte is fetched, from the response's Content-Length before the body is read,
and while reading, as soon as the body passes the limit (a size can be misreported)."""

from __future__ import annotations

import aiohttp

from bot.exts.library._messages import megabytes

CHUNK_BYTES = 256 * 1024
TIMEOUT_SECONDS = 120.0


class DownloadRefused(Exception):
    """The file cannot be downloaded, or is over the limit; one sentence for the user."""


def check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise DownloadRefused(
            f"{name} is {megabytes(size)}; texts added here may be at most {megabytes(limit)}."
        )


async def download(
    session: aiohttp.ClientSession, url: str, name: str, declared: int, limit: int
) -> bytes:
    check_size(name, declared, limit)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with session.get(url, timeout=timeout) as response:
            if response.status != 200:
                raise DownloadRefused(
                    f"Discord would not give me {name} (HTTP {response.status}): try again."
                )
            check_size(name, response.content_length or 0, limit)
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                data += chunk
                if len(data) > limit:
                    raise DownloadRefused(
                        f"{name} is over {megabytes(limit)}, the most a text added here may be."
                    )
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DownloadRefused(
            f"I could not download {name} ({type(error).__name__}): try again."
        ) from None
    return bytes(data)
