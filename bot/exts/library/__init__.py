"""A server's own texts: members with Manage Server (or the role `library_role` names) add
and remove texts that only that server searches, beside the shipped ones.

    /library add file [title]   read, index and store a .txt, .md, .html, .epub or .pdf
    /library list               the server's texts, with their sizes and who added them
    /library remove source      remove one (the id autocompletes)

    _cog        the commands: permission, limits, one change at a time per server
    _download   the attachment, from Discord's CDN, within the size limit
    _messages   what the commands show

The file is read and indexed in the indexing worker process (`bot.worker.index_upload`),
then stored in one transaction (`bot.uploads`); only then does the server's library change
(`Searcher.texts_changed`) and the member see "Added …". Nothing is stored for a file that
is refused, at any step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.library._cog import LibraryCog

if TYPE_CHECKING:
    from bot.bot import HistBot


async def setup(bot: HistBot) -> None:
    await bot.add_cog(LibraryCog(bot))
