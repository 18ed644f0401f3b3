"""Pictures on posts: what an image is once it is checked (:mod:`images`) and where its
bytes are kept, by their SHA-256 (:mod:`store`). Nothing here talks to a platform or the
database."""
