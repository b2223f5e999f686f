"""The batched read programs every twin runs through `Host.run`, and the decoder of their output.

The remote needs `sh` plus GNU findutils (`find -L`, `-xtype`, `-readable`, `-executable`,
`-printf`) and GNU coreutils (`stat -c`, `realpath -m`, `head -q -c`, `cat`). A round trip forks
a constant handful of processes whatever the number of files: READ_MANY checks with shell
builtins (`[ -f ]`, `[ -r ]`, `cd -P`), then one `stat` gives the sizes and one `cat` the
contents; READ_GLOB walks the tree once with `find`, which prints the records and runs one
`sh` + `cat` of the accepted files (a second `find -P` only when the walk met a link it could
not follow); READ_BOTH reads the detection files and a glob in one session with READ_MANY's
checks and READ_GLOB's one `find` + `sh` + `cat` (the floor, one `cat`, is two program starts
fewer). Only a symlink in a confined tree costs a `realpath` (in `find`, a `sh` too) of its own.

Output: a record per path, then `C NUL` and the raw bytes of every `A` file back to back (from
READ_GLOB possibly several such segments, one per `cat` batch, then records of the -P pass):

    M NUL path NUL             missing, or not a regular file (READ_MANY only)
    P NUL path NUL             exists, the host's user may not read it
    L NUL path NUL             a symlink (or a path) leaving the site tree
    B NUL path NUL size NUL    larger than the byte cap: never read
    A NUL path NUL size NUL    read: min(size, max) bytes follow after `C NUL`

No path can hold a NUL and sizes are digits, so the framing holds for any name or content; a
file changing size between its record and its read makes the lengths disagree: an error.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from tma_agent.errors import HostError

__all__ = [
    "INSIDE",
    "READ_BOTH",
    "READ_GLOB",
    "READ_MANY",
    "Frames",
    "decode_frames",
    "human_bytes",
    "short_command",
]

# Sets `kind` for the file `$f` with shell builtins only (`realpath` for a symlink in a confined
# tree): A to read, M missing or not a regular file, L leaving the tree, P unreadable. Shared by
# READ_MANY and READ_BOTH so the detection files get one rule whichever program reads them.
_CLASSIFY_FILE = r"""kind=A
if [ "$confined" = 1 ]; then
  case $f in */*) d=${f%/*}; b=${f##*/}; [ -n "$d" ] || d=/ ;; *) d=.; b=$f ;; esac
  if ! { cd -P -- "$start" && cd -P -- "$d"; } 2>/dev/null || [ -z "$b" ]; then kind=M
  else
    case $PWD/ in "$rootp"/*) ;; *) kind=L ;; esac
    if [ "$kind" = A ] && [ -L "$b" ]; then
      r=$(realpath -m -- "$b" 2>/dev/null; printf x); r=${r%?x}
      case $r/ in "$rootp"/*) ;; *) kind=L ;; esac
    fi
  fi
  cd -P -- "$start" 2>/dev/null
fi
if [ "$kind" = A ]; then
  if [ ! -f "$f" ]; then kind=M; elif [ ! -r "$f" ]; then kind=P; fi
fi
"""

# Arguments: cap max root confined path... (`root` empty: no tree rule). `max` > 0 reads only
# that many bytes of each file. cwd is physical throughout (`cd -P`), so `$PWD` is a real path.
READ_MANY = (
    r"""cap=$1; max=$2; root=$3; confined=$4; shift 4
cd -P . 2>/dev/null; start=$PWD
if [ "$confined" = 1 ]; then
  cd -P -- "$root" 2>/dev/null && rootp=$PWD || rootp=$root
  [ "$rootp" = / ] && rootp=
fi
i=0; keep=
for f do
  i=$((i + 1))
"""
    + _CLASSIFY_FILE
    + r"""  if [ "$kind" = A ]; then keep="$keep \"\${$i}\""; else printf '%s\000%s\000' "$kind" "$f"; fi
done
eval "set -- $keep"
if [ "$#" -gt 0 ]; then
  sizes=$(stat -L -c %s -- "$@") || { echo "files changed while being read" >&2; exit 3; }
  i=0; keep=
  for s in $sizes; do
    i=$((i + 1)); eval "f=\${$i}"
    if [ "$max" -gt 0 ] && [ "$s" -gt "$max" ]; then s=$max; fi
    if [ "$s" -gt "$cap" ]; then printf 'B\000%s\000%s\000' "$f" "$s"
    else printf 'A\000%s\000%s\000' "$f" "$s"; keep="$keep \"\${$i}\""; fi
  done
  eval "set -- $keep"
fi
printf 'C\000'
if [ "$#" -gt 0 ]; then
  if [ "$max" -gt 0 ]; then head -q -c "$max" -- "$@"; else cat -- "$@"; fi
fi
"""
)

# In a confined tree a symlink is followed only when it resolves inside the root; one leaving
# it is reported and, for a directory, not descended.
INSIDE = (
    'r=$(realpath -m -- "$1" 2>/dev/null; printf x); r=${r%?x}\n'
    'case $r/ in "$2"/*) exit 0 ;; esac; exit 1\n'
)

# Arguments: INSIDE cap max root confined depth N root... name...; roots that do not exist are
# skipped. One walk by `find -L` prints the records and hands the accepted files to a batch
# `sh` that prints `C NUL` then execs one `cat` (or `head`): find flushes its records before it
# runs a batch, so the answer is records, `C`, contents (again per batch on huge trees), and no
# shell reads find's NUL list. `-links -1` is never true: it stands for a test a mode does not
# need (no fork, no stat).
# In a confined tree, a directory the user may not list or enter is a `P` record: the extension
# in it is reported, not dropped (followed links may lead anywhere, such as `/root`: not there).
# find -L skips, with an error, an entry it cannot stat: a symlink into a directory the user may
# not enter. Only then a `find -P` pass names those links (`%Y` is `?` for them), as leaving the
# tree or unreadable; links under a linked directory are not looked at again by that pass.
READ_GLOB = r"""inside=$1; cap=$2; max=$3; root=$4; confined=$5; depth=$6; n=$7; shift 7
rootp=; lt=-links; lv=-1; st=-size; sv=+${cap}c; batch='printf "C\000"; exec cat -- "$@"'
if [ "$max" -gt 0 ]; then batch='printf "C\000"; exec head -q -c "$0" -- "$@"'; fi
if [ "$max" -gt 0 ] && [ "$max" -le "$cap" ]; then st=-links; sv=-1; fi
dt=-links; dv=-1
if [ "$confined" = 1 ]; then
  lt=-xtype; lv=l; dt=-type; dv=d
  cd -P . 2>/dev/null; start=$PWD
  cd -P -- "$root" 2>/dev/null && rootp=$PWD || rootp=$root
  [ "$rootp" = / ] && rootp=
fi
# find's arguments: existing roots (inside the tree), then -maxdepth ( names ). `keep` holds
# references to the arguments ("${7}"), never their text, for one `eval set --` at the end:
# rebuilding "$@" item by item (`set -- "$@" "$a"`) is quadratic, ~2.5 ms for 100 items.
i=0; keep=; any=0
for a do
  i=$((i + 1))
  if [ "$i" -le "$n" ]; then
    if [ ! -d "$a" ]; then :
    elif [ "$confined" = 1 ]; then
      if cd -P -- "$a" 2>/dev/null; then
        case $PWD/ in
          "$rootp"/*) keep="$keep \"\${$i}\""; any=1 ;;
          *) printf 'L\000%s\000' "$a" ;;
        esac
      fi
      cd -P -- "$start" 2>/dev/null
    else keep="$keep \"\${$i}\""; any=1
    fi
  else
    if [ "$i" = $((n + 1)) ]; then keep="$keep -maxdepth \"\$depth\" \\("; else keep="$keep -o"; fi
    keep="$keep -name \"\${$i}\""
  fi
done
[ "$any" = 1 ] || exit 0
eval "set -- $keep"
set -- "$@" ")"
find -L "$@" ! -type d "(" \
  "(" "$lt" "$lv" ! -exec sh -c "$inside" sh {} "$rootp" ";" -printf 'L\000%p\000' ")" -o \
  "(" -type f "(" ! -readable -printf 'P\000%p\000' -o "$st" "$sv" -printf 'B\000%p\000%s\000' \
  -o -printf 'A\000%p\000%s\000' -exec sh -c "$batch" "$max" {} + ")" ")" ")" -o \
  "(" -type d "$lt" "$lv" ! -exec sh -c "$inside" sh {} "$rootp" ";" -printf 'L\000%p\000' \
  -prune ")" -o "(" "$dt" "$dv" "(" ! -readable -o ! -executable ")" -printf 'P\000%p\000' \
  -prune ")" 2>/dev/null && exit 0
x="! -xtype l ! -xtype f ! -xtype d ! -xtype p ! -xtype s ! -xtype c ! -xtype b"
if [ "$confined" = 1 ]; then
  # shellcheck disable=SC2086 # $x is the fixed list of tests above, split on purpose
  find -P "$@" -type l $x "(" ! -exec sh -c "$inside" sh {} "$rootp" ";" \
    -printf 'L\000%p\000' -o -printf 'P\000%p\000' ")" -o -type l $x \
    ! -exec sh -c "$inside" sh {} "$rootp" ";" -printf 'L\000%p\000' 2>/dev/null
else
  # shellcheck disable=SC2086
  find -P "$@" -type l $x -printf 'P\000%p\000' 2>/dev/null
fi
exit 0
"""


# Arguments: INSIDE cap max root confined depth nf N file... root... name... pattern...: the
# detection files and the globs read ahead in one session, with ONE `find` and one `cat` batch
# (READ_MANY + READ_GLOB would start `stat`, `cat`, `find`, `sh` + `cat`). The files get
# READ_MANY's checks (shell builtins: confinement, `M` not a regular file, `P` unreadable) and
# the accepted ones become `find` start points next to the existing roots; the caller passes
# one `-path` pattern per file (the file's path with `*?[\` escaped), so a start point passes
# the name test while files below the roots still need a name. `find` then prints their `A`/`B`
# records and sizes and cats them with the glob's files: READ_GLOB's answer, with the files'
# records in it. A file gone between its check and `find` has no record: missing.
READ_BOTH = (
    r"""inside=$1; cap=$2; max=$3; root=$4; confined=$5; depth=$6; nf=$7; n=$8; shift 8
rootp=; lt=-links; lv=-1; st=-size; sv=+${cap}c; batch='printf "C\000"; exec cat -- "$@"'
if [ "$max" -gt 0 ]; then batch='printf "C\000"; exec head -q -c "$0" -- "$@"'; fi
if [ "$max" -gt 0 ] && [ "$max" -le "$cap" ]; then st=-links; sv=-1; fi
dt=-links; dv=-1
if [ "$confined" = 1 ]; then
  lt=-xtype; lv=l; dt=-type; dv=d
  cd -P . 2>/dev/null; start=$PWD
  cd -P -- "$root" 2>/dev/null && rootp=$PWD || rootp=$root
  [ "$rootp" = / ] && rootp=
  cd -P -- "$start" 2>/dev/null
fi
# find's arguments: accepted files, existing roots (inside the tree), then -maxdepth ( -name
# name -o ... -o -path pattern ... ), kept as references for one `eval set --` (READ_GLOB).
i=0; e=$((nf + n)); q=$(($# - nf)); keep=; any=0
for a do
  i=$((i + 1))
  if [ "$i" -le "$nf" ]; then
    f=$a
"""
    + _CLASSIFY_FILE
    + r"""    if [ "$kind" = A ]; then keep="$keep \"\${$i}\""; any=1
    else printf '%s\000%s\000' "$kind" "$f"; fi
  elif [ "$i" -le "$e" ]; then
    if [ ! -d "$a" ]; then :
    elif [ "$confined" = 1 ]; then
      if cd -P -- "$a" 2>/dev/null; then
        case $PWD/ in
          "$rootp"/*) keep="$keep \"\${$i}\""; any=1 ;;
          *) printf 'L\000%s\000' "$a" ;;
        esac
      fi
      cd -P -- "$start" 2>/dev/null
    else keep="$keep \"\${$i}\""; any=1
    fi
  else
    if [ "$i" = $((e + 1)) ]; then keep="$keep -maxdepth \"\$depth\" \\("; else keep="$keep -o"; fi
    if [ "$i" -le "$q" ]; then keep="$keep -name"; else keep="$keep -path"; fi
    keep="$keep \"\${$i}\""
  fi
done
[ "$any" = 1 ] || exit 0
eval "set -- $keep"
set -- "$@" ")"
"""
) + READ_GLOB[READ_GLOB.index('find -L "$@" ! -type d') :]

_NAMES = {READ_MANY: "read_many", READ_GLOB: "read_glob", READ_BOTH: "read_many+read_glob"}
_SHORT = 60


def short_command(argv: Sequence[str] | None, command: str | None) -> str:
    """A one-line name for a command in error messages: an embedded program by its name, any
    other command cut to ~60 characters. The whole command goes to the debug log only."""
    if argv is not None and len(argv) > 2 and argv[0] == "sh" and argv[1] == "-c":
        name = _NAMES.get(argv[2])
        if name is not None:
            return f"{name} ({len(argv) - 4} arguments)"
    text = " ".join((shlex.join(argv) if argv is not None else command or "").split())
    return text if len(text) <= _SHORT else text[:_SHORT] + "…"


class Frames:
    """The decoded answer: path -> content (None: missing), and path -> problem."""

    def __init__(self) -> None:
        self.files: dict[str, str | None] = {}
        self.problems: dict[str, str] = {}


def human_bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def decode_frames(payload: bytes, cap: int, where: str, max_bytes: int = 0) -> Frames:
    """Parse a program's answer; a truncated or inconsistent one is a HostError.

    The answer is one or more segments of records, each `C` followed by the contents of that
    segment's `A` files (READ_GLOB's -P pass may add records after the last contents)."""
    frames = Frames()
    pos, end = 0, len(payload)
    contents_seen = False

    def broken(what: str) -> HostError:
        # Once contents were read, bytes that do not parse mean a length was wrong: a file
        # changed size between its record and its read.
        if contents_seen:
            return HostError(f"{where}: files changed while being read, try again")
        return HostError(f"{where}: {what} answer from the read program")

    def field() -> bytes:
        nonlocal pos
        stop = payload.find(b"\0", pos)
        if stop < 0:
            raise broken("truncated")
        value = payload[pos:stop]
        pos = stop + 1
        return value

    pending: list[tuple[str, int]] = []
    while pos < end:
        kind = field()
        if kind == b"C":
            for name, size in pending:
                if pos + size > end:
                    raise HostError(f"{where}: files changed while being read, try again")
                frames.files[name] = payload[pos : pos + size].decode("utf-8", errors="replace")
                pos += size
            pending, contents_seen = [], True
            continue
        name = field().decode("utf-8", errors="surrogateescape")
        if kind == b"M":
            frames.files[name] = None
        elif kind == b"P":
            frames.problems[name] = "permission denied"
        elif kind == b"L":
            frames.problems[name] = "symlink leaving the site tree"
        elif kind in (b"A", b"B"):
            text = field()
            if not text.isdigit():
                raise broken("unexpected")
            size = int(text)
            if kind == b"B":
                frames.problems[name] = f"larger than {human_bytes(cap)} (limits.max_file_bytes)"
            else:
                pending.append((name, min(size, max_bytes) if max_bytes > 0 else size))
        else:
            raise broken("unexpected")
    if pending:
        raise broken("truncated")
    return frames
