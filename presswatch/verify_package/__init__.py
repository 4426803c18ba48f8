"""Check a Presswatch evidence package with nothing but the package and the log's
published key: `python -m presswatch.verify_package story.wacz --public-key FILE`.

No database, no data dir, no network. A package proves one statement, and this prints
exactly that statement or says why it does not hold:

    article KEY (id N, source id S) was STATUS as of capture C, fetched at T
    (leaf L), with its V versions and E events up to then, under the checkpoint of
    SIZE leaves (root R) of log ORIGIN, signed by key NAME+ID

Everything it shows as proven is checked against a log leaf; everything else in the
package is refused or labelled informative. The checks, in order (docs/evidence.md,
"How to verify a package"):

1. reading: member names unique, safe and of the WACZ layout; sizes and JSON nesting
   capped (`reading.py`);
2. the WACZ: datapackage-digest.json against datapackage.json, every member against
   its sha256 and size there, nothing unlisted;
3. the checkpoint's Ed25519 signature by the given key, and its RFC 3161 token;
4. each leaf: its RFC 9162 leaf hash and inclusion proof up to the checkpoint's root;
5. the captures: at least one of the article's, each leaf of the article (or the
   payload source of one of its revisits), every record hashed as a stream against the
   digest and length its leaf commits to, and nothing in a WARC file, the CDXJ index
   or the pages list that no verified capture accounts for;
6. the manifest against the leaves: events (none added, none hidden), versions (every
   one introduced by its event, none missing), the article's state, the diffs.

Exit 0 when the statement holds, 1 when the package fails, 2 when it or the key cannot
be read at all, 3 when its checkpoint is not signed by the key given and nothing else
fails.
"""

from presswatch.verify_package.cli import main, plain, statement_text
from presswatch.verify_package.reading import Unreadable
from presswatch.verify_package.result import Failure, Result
from presswatch.verify_package.verify import verify_package

__all__ = ["Failure", "Result", "Unreadable", "main", "plain", "statement_text", "verify_package"]
