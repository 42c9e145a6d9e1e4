#!/usr/bin/env bash
# Fetch the held-out corpus: code in languages (and repositories) the dev suite lacks,
# from Debian's archive and npm, each artifact checked against its SHA-256.
#   bash benches/heldout/fetch.sh [DEST]     # default ./target/heldout-corpus
# Unpacks to DEST/<name>/; benches/heldout/repos.json says which directory to index.
set -euo pipefail
DEST=${1:-target/heldout-corpus}
mkdir -p "$DEST/.dl"
DEBIAN=http://deb.debian.org/debian/pool/main

# name  url  sha256  kind (deb | tar | npm)
ARTIFACTS=(
  "rack $DEBIAN/r/ruby-rack/ruby-rack_2.2.22-0+deb12u1_all.deb 18bab2c3caffa2b1a35cd73d49652d749909e87fd2d5b57dd4a594a02a6ad157 deb"
  "monolog $DEBIAN/p/php-monolog/php-monolog_2.9.1-1_all.deb f8a26688b521e33cf6ef73b75ae5eac0cb026d986a336161456dd37dbb710681 deb"
  "spdlog $DEBIAN/s/spdlog/libspdlog-dev_1.10.0+ds-0.4_amd64.deb 4e19d647fe9bc9ec6a1fae81be00a69b1796b41660e8a7a4cf567264b463dcfb deb"
  "kotlinx-coroutines $DEBIAN/k/kotlinx-coroutines/kotlinx-coroutines_1.0.1.orig.tar.xz 361a1e02f2d223c0d8ee16f5cd3987202264f037a4eff5de0e29334c38d16782 tar"
  "jsoup $DEBIAN/j/jsoup/jsoup_1.15.3.orig.tar.xz 052511f0be47511f9b2a17d44fc1eccc4b5373e77cc5a3221e34b6af437e1e2e tar"
  "elixir $DEBIAN/e/elixir-lang/elixir-lang_1.14.0.dfsg.orig.tar.xz 3dfa724f36b90d1bc41b9626a8ea0c293255c3a21a4d608c576ce39e2a23e5c9 tar"
  "erlang-ssh $DEBIAN/e/erlang/erlang-src_25.2.3+dfsg-1+deb12u4_all.deb 52fc8fbd533e0d094514ba54ff7b7a3244b2cf02a4905cf36dfeccb346d3479b deb"
  "rxjs rxjs@7.8.1 c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149 npm"
)

for line in "${ARTIFACTS[@]}"; do
  read -r name url sha kind <<<"$line"
  out="$DEST/$name"
  if [ -f "$DEST/.versions/$name" ] && [ "$(cat "$DEST/.versions/$name")" = "$url" ]; then
    echo "$name: present"; continue
  fi
  file="$DEST/.dl/$(basename "$url")"
  if [ "$kind" = npm ]; then
    (cd "$DEST/.dl" && npm pack --silent "$url" >/dev/null)
    file=$(ls "$DEST/.dl/${url%@*}"-*.tgz | head -n 1)
  elif [ ! -f "$file" ]; then
    curl -fsSL -o "$file" "$url"
  fi
  got=$(sha256sum "$file" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then echo "$name: sha256 $got, expected $sha" >&2; exit 1; fi
  rm -rf "$out"; mkdir -p "$out"
  case $kind in
    deb) dpkg-deb -x "$file" "$out" ;;
    tar) tar -xf "$file" -C "$out" --strip-components=1 ;;
    npm) tar -xzf "$file" -C "$out" --strip-components=1 ;;
  esac
  mkdir -p "$DEST/.versions"; echo "$url" > "$DEST/.versions/$name"
  echo "$name: unpacked"
done
