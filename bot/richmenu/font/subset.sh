#!/bin/sh
# Rebuilds NotoSansCJKjp-Bold-subset.otf, the font the rich menu's labels are
# drawn with: Noto Sans CJK JP Bold (SIL Open Font License 1.1, OFL.txt) cut
# down to ASCII, JIS X 0208 rows 1-8 (symbols, kana) and 16-47 (the 2,965
# level-1 kanji), and every character of the packs, so that the binary stays
# small (about 0.9 MB instead of 20 MB). Run from the repository root after
# adding a label with a rarer character (kb validate says which):
#
#   apt-get install fonts-noto-cjk python3-fonttools && sh bot/richmenu/font/subset.sh
set -eu
out=bot/richmenu/font/NotoSansCJKjp-Bold-subset.otf
chars=$(mktemp)
/usr/bin/python3 - "$chars" knowledge/packs/*.yaml <<'PY'
import sys
out, packs = sys.argv[1], sys.argv[2:]
chars = {chr(c) for c in range(0x20, 0x7f)}
for row in list(range(1, 9)) + list(range(16, 48)):
    for cell in range(1, 95):
        try:
            chars.add(bytes([0xA0 + row, 0xA0 + cell]).decode("euc_jp"))
        except UnicodeDecodeError:
            pass
for p in packs:
    chars |= set(open(p, encoding="utf-8").read())
open(out, "w", encoding="utf-8").write("".join(sorted(c for c in chars if c.isprintable())))
PY
/usr/bin/python3 -m fontTools.subset /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc --font-number=0 \
  --text-file="$chars" --output-file="$out" --layout-features='' --no-hinting --desubroutinize --name-IDs='*'
rm -f "$chars"
ls -l "$out"
