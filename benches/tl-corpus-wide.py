#!/usr/bin/env python3
"""Gather training code in 17 languages for `cseek model distill --train-on DIR`.

Experiment, not a product path (issue 14). Downloads pinned source packages (Debian's
archive, and npm for Swift and TypeScript, each checked against its SHA-256), and copies
an even share of each language's source files into `DEST/<language>-<package>/`, so that
no language outweighs another in the chunks `--train-on` samples: every language gets
`--budget` bytes (default 2 MB), split evenly among its packages (a package with less
gives its rest to the others). None of the packages is a repository of the dev suite
(`../shared/bench`) or of the held-out suite (`benches/heldout`): no libuv, chi, gson,
xmonad, tokio, axum, express, axios, flask, requests, rack, monolog, spdlog (nor the fmt
it bundles), jsoup, kotlinx-coroutines, elixir, Erlang/OTP or rxjs. Tests, vendored code
and generated or minified files are left out.

    python3 benches/tl-corpus-wide.py --dest target/tl-wide
    target/release/cseek model distill --from target/models/all-MiniLM-L6-v2 --dims 384 \\
        --out target/models/wide-tl --train-on target/tl-wide --train-chunks 24000

Downloads go to `DEST-dl/` (kept, so a rerun fetches nothing); the copy is seeded, so
the same packages give the same corpus.
"""
import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tarfile
import urllib.request

DEBIAN = "http://deb.debian.org/debian/"

# (name, language, kind, Debian pool path or npm spec, sha256). Kinds: `deb`, a source
# package's upstream tarball; `deb-bin`, a binary package that installs its sources
# (Python, Ruby, PHP, Lua, JavaScript, Rust's librust-*-dev), for the source tarballs this
# archive no longer serves; `npm`, a package from the npm registry.
ARTIFACTS = [
    ("redis", "c", "deb", "pool/main/r/redis/redis_7.0.15.orig.tar.gz",
     "4b1dc4ee6d622a09fff9c6777191209750fb5e5a725ef78ea012d6eef4c22982"),
    ("curl", "c", "deb", "pool/main/c/curl/curl_7.88.1.orig.tar.gz",
     "cdb38b72e36bc5d33d5b8810f8018ece1baa29a8f215b4495e495ded82bbf3c7"),
    ("nginx", "c", "deb", "pool/main/n/nginx/nginx_1.22.1.orig.tar.gz",
     "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"),
    ("jq", "c", "deb", "pool/main/j/jq/jq_1.6.orig.tar.gz",
     "3ba940b97571c866923f0409678033d33b5a98758dfc174fad8397ed908bc4d9"),
    ("tmux", "c", "deb", "pool/main/t/tmux/tmux_3.3a.orig.tar.gz",
     "e4fd347843bd0772c4f48d6dde625b0b109b7a380ff15db21e97c11a4dcdf93f"),
    ("mini-httpd", "c", "deb", "pool/main/m/mini-httpd/mini-httpd_1.30.orig.tar.gz",
     "9c4481802af8dde2e164062185c279e9274525c3af93d014fdc0b80cf30bca6e"),
    ("lua5.4", "c", "deb", "pool/main/l/lua5.4/lua5.4_5.4.4.orig.tar.gz",
     "164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61"),
    ("hiredis", "c", "deb", "pool/main/h/hiredis/hiredis_0.14.1.orig.tar.gz",
     "2663b2aed9fd430507e30fc5e63274ee40cdd1a296026e22eafd7d99b01c8913"),
    ("leveldb", "cpp", "deb", "pool/main/l/leveldb/leveldb_1.23.orig.tar.gz",
     "9a37f8a6174f09bd622bc723b55881dc541cd50747cbd08831c2a82d620f6d76"),
    ("nlohmann-json3", "cpp", "deb", "pool/main/n/nlohmann-json3/nlohmann-json3_3.11.2.orig.tar.gz",
     "d69f9deb6a75e2580465c6c4c5111b89c4dc2fa94e3a85fcd2ffcd9a143d9273"),
    ("abseil", "cpp", "deb", "pool/main/a/abseil/abseil_20220623.1.orig.tar.gz",
     "abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe"),
    ("ninja-build", "cpp", "deb", "pool/main/n/ninja-build/ninja-build_1.11.1.orig.tar.gz",
     "31747ae633213f1eda3842686f83c2aa1412e0f5691d1c14dbbcc67fe7400cea"),
    ("re2", "cpp", "deb", "pool/main/r/re2/re2_20220601+dfsg.orig.tar.xz",
     "3bc61251da3b0b97be40a8a127818c517c62516e4eda11fc901d29496663df54"),
    ("googletest", "cpp", "deb", "pool/main/g/googletest/googletest_1.12.1.orig.tar.gz",
     "81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2"),
    ("golang-github-gin-gonic-gin", "go", "deb", "pool/main/g/golang-github-gin-gonic-gin/golang-github-gin-gonic-gin_1.8.1.orig.tar.gz",
     "9f6a9a6c2b96c323902d8ee1728152bafdf1894130554a93af5d3f1807c0403b"),
    ("golang-github-gorilla-mux", "go", "deb", "pool/main/g/golang-github-gorilla-mux/golang-github-gorilla-mux_1.8.0.orig.tar.gz",
     "ea2639259d2ce6f402636655e91eb93ba69c139e3cbf80b044ee393ada53757b"),
    ("golang-github-spf13-cobra", "go", "deb", "pool/main/g/golang-github-spf13-cobra/golang-github-spf13-cobra_1.6.1.orig.tar.gz",
     "f38f8b26895903be06089ff20882fc771dbca12f41cf81d7bd823be65e6cec52"),
    ("golang-github-labstack-echo", "go", "deb", "pool/main/g/golang-github-labstack-echo/golang-github-labstack-echo_4.2.1.orig.tar.gz",
     "81c2f8c8529404814e929c865b4989766570e4f230122509f8f8288891c5b3c3"),
    ("golang-github-urfave-cli", "go", "deb", "pool/main/g/golang-github-urfave-cli/golang-github-urfave-cli_1.22.9.orig.tar.gz",
     "90cea83f9783d02d938415d4e459390614b7f7f64d796ba98408f05f06a632f1"),
    ("golang-github-spf13-viper", "go", "deb", "pool/main/g/golang-github-spf13-viper/golang-github-spf13-viper_1.10.1.orig.tar.gz",
     "9d4276ff76799b7e5a4ad39542df3b27e3b24e70356e84ceaa338c782617c275"),
    ("golang-github-gorilla-websocket", "go", "deb", "pool/main/g/golang-github-gorilla-websocket/golang-github-gorilla-websocket_1.5.0.orig.tar.gz",
     "5d86f9e1c76ff7ceca0747f78b79864fbaec9d440f4fdb03197466e5102a86b0"),
    ("haskell-aeson", "haskell", "deb", "pool/main/h/haskell-aeson/haskell-aeson_2.0.3.0.orig.tar.gz",
     "19760a2b84764fa3cee65c63df0c80d45497e2f0c3b95d4e6dc2083b8604b325"),
    ("haskell-megaparsec", "haskell", "deb", "pool/main/h/haskell-megaparsec/haskell-megaparsec_9.2.2.orig.tar.gz",
     "a48b03e55c0b9efcc88ce4236186fb6eee3acb64336987dd9c98daf4d96aa234"),
    ("haskell-lens", "haskell", "deb", "pool/main/h/haskell-lens/haskell-lens_5.0.1.orig.tar.gz",
     "ec543d933636419d686a9f00898f9a81cbbde65a24960f43a9f0a27216e9fc3f"),
    ("haskell-conduit", "haskell", "deb", "pool/main/h/haskell-conduit/haskell-conduit_1.3.4.3.orig.tar.gz",
     "aca2a086a6ee065a5d1f1efc0632bccf52a8f961e4134a4fb60447765987907d"),
    ("haskell-servant", "haskell", "deb", "pool/main/h/haskell-servant/haskell-servant_0.19.orig.tar.gz",
     "4bb61941761a1bdf83555cdf89e17607bd896511d10e53ac547db06d06b150e5"),
    ("haskell-optparse-applicative", "haskell", "deb", "pool/main/h/haskell-optparse-applicative/haskell-optparse-applicative_0.16.1.0.orig.tar.gz",
     "6205278362f333c52256b9dd3edf5f8fe0f84f00cb9ee000291089f6eaccd69a"),
    ("haskell-warp", "haskell", "deb", "pool/main/h/haskell-warp/haskell-warp_3.3.21.orig.tar.gz",
     "8f75fce0cfc68e1e899151ea1688f17be18ea9b384ce8be97dbea8ab83d43f6f"),
    ("haskell-http-client", "haskell", "deb", "pool/main/h/haskell-http-client/haskell-http-client_0.7.13.1.orig.tar.gz",
     "c98e86a0382fa877e320d83dbbd173c41c966a60a32c9bc597058929a7aa0e27"),
    ("haskell-vector", "haskell", "deb", "pool/main/h/haskell-vector/haskell-vector_0.12.3.1.orig.tar.gz",
     "fb4a53c02bd4d7fdf155c0604da9a5bb0f3b3bfce5d9960aea11c2ae235b9f35"),
    ("haskell-hledger-lib", "haskell", "deb", "pool/main/h/haskell-hledger-lib/haskell-hledger-lib_1.25.orig.tar.gz",
     "36c0dfe0f7647da17e74d3b52d91017aacd370198600b69e24212f3eefb46919"),
    ("pandoc", "haskell", "deb", "pool/main/p/pandoc/pandoc_2.17.1.1.orig.tar.gz",
     "df7c6c605d084252fc28687dffe63ca57dd04a463698d323924d3be2f1f5df32"),
    ("jackson-databind", "java", "deb", "pool/main/j/jackson-databind/jackson-databind_2.14.0.orig.tar.xz",
     "ec086218027c3ecf235fcda042bf04d87b4178ee225f0633f062cd20e64f74a9"),
    ("guava-libraries", "java", "deb", "pool/main/g/guava-libraries/guava-libraries_31.1.orig.tar.xz",
     "3dbb56b34e5ebd1b97184f72d31fbf9da24cc26c28f1ad3714aeeefdeedaed2a"),
    ("junit5", "java", "deb", "pool/main/j/junit5/junit5_5.9.2.orig.tar.xz",
     "30f6f0370ca02802843a4b46b0f3acc85c88ac558937c78a61ff4f825c7bf8cb"),
    ("commons-io", "java", "deb", "pool/main/c/commons-io/commons-io_2.11.0.orig.tar.gz",
     "5a55361cf2b97228f94b3c65e3a4af784581debe322be551c44b2776db1c6483"),
    ("jetty9", "java", "deb", "pool/main/j/jetty9/jetty9_9.4.57.orig.tar.xz",
     "0b39eb1e68d54c95a199547ba3919335181d03ce4ee5ff00346d986b33d5992f"),
    ("netty", "java", "deb", "pool/main/n/netty/netty_4.1.48.orig.tar.xz",
     "e5351d821f461f64af58e89f260ad8943b0ab75f26c1a845300a91f22a711600"),
    ("newtonsoft-json", "csharp", "deb", "pool/main/n/newtonsoft-json/newtonsoft-json_6.0.8+dfsg.orig.tar.gz",
     "3b7c77da971bbe1c6fdbb5cbb634d106a86aa30c82647abd9b23d2f31be0c630"),
    ("nunit", "csharp", "deb", "pool/main/n/nunit/nunit_2.6.4+dfsg.orig.tar.bz2",
     "daebaa04b4a4ccd2ecf120e8d6f315ef51092d06a6aa42223a12fc2cee3dd361"),
    ("keepass2", "csharp", "deb", "pool/main/k/keepass2/keepass2_2.47+dfsg.orig.tar.xz",
     "023ec3ec467c24b5bbc839973427cd2c0c31ab6f2f209d6172e68b56a5039309"),
    ("awesome", "lua", "deb", "pool/main/a/awesome/awesome_4.3.orig.tar.xz",
     "78264d6f012350b371e339127aca485260bc0aa935eff578ba75ce1a00e11753"),
    ("luarocks", "lua", "deb", "pool/main/l/luarocks/luarocks_3.8.0+dfsg1.orig.tar.xz",
     "6c691772a341d1873d9bcfb63c91ad0ae213df56a002067f1f9619a8f09e0f77"),
    ("neovim", "lua", "deb", "pool/main/n/neovim/neovim_0.7.2.orig.tar.xz",
     "e4f3f60c528b3e0f268102f0522a8c8a0a8473875583b6cd1768f0ad3c85a035"),
    ("lua-luassert", "lua", "deb", "pool/main/l/lua-luassert/lua-luassert_1.9.0.orig.tar.gz",
     "1db0fabf1bd87392860375b89a8a37d17b687325c988be0df8c42e7e96e7ed73"),
    ("lua-http", "lua", "deb", "pool/main/l/lua-http/lua-http_0.4.orig.tar.gz",
     "d2e3cb9bc04cab70ac4f19351bc74b0dcd8b16cfc2563aa77256eb3a43b3b9e0"),
    ("vis", "lua", "deb", "pool/main/v/vis/vis_0.8.orig.tar.xz",
     "f7d38faeb890a6ab1693c596f1a8ee965e20941f91876e568e41b1ff9766a00e"),
    ("node-lodash", "javascript", "deb", "pool/main/n/node-lodash/node-lodash_4.17.21+dfsg+~cs8.31.198.20210220.orig.tar.xz",
     "3a1cfd932d2170c852b27a9b723d4cf0c2dbe72ccf400f10812de8542d046fde"),
    ("node-commander", "javascript", "deb", "pool/main/n/node-commander/node-commander_9.4.1.orig.tar.gz",
     "591ba7850546f51a710a776f9271f1401a08b0e2b831cbbc8354415273a9da12"),
    ("node-yargs", "javascript", "deb", "pool/main/n/node-yargs/node-yargs_16.2.0+~16.0.4.orig.tar.gz",
     "0e8c48f6d8666ccbbcca9cc9b01de8c679bac448189c091e950ef6d06133da5d"),
    ("node-webpack", "javascript", "deb", "pool/main/n/node-webpack/node-webpack_5.75.0+dfsg+~cs17.16.14.orig.tar.xz",
     "388b51ec05e380d5a2ce8e82216871010faffaac116a7b95dd789792b595f43a"),
    ("python-django", "python", "deb", "pool/main/p/python-django/python-django_3.2.25.orig.tar.gz",
     "7ca38a78654aee72378594d63e51636c04b8e28574f5505dff630895b5472777"),
    ("rich", "python", "deb", "pool/main/r/rich/rich_13.3.1.orig.tar.xz",
     "728e0ad25de9448fedee56acaa3219207e7c98d9d56fda5cfd5daa5d254acaac"),
    ("jinja2", "python", "deb", "pool/main/j/jinja2/jinja2_3.1.2.orig.tar.gz",
     "31351a702a408a9e7595a8fc6150fc3f43bb6bf7e319770cbc0db9df9437e852"),
    ("rust-clap", "rust", "deb", "pool/main/r/rust-clap/rust-clap_4.0.32.orig.tar.gz",
     "a7db700bc935f9e43e88d00b0850dae18a63773cfbec6d8e070fccf7fef89a39"),
    ("rust-hashbrown", "rust", "deb", "pool/main/r/rust-hashbrown/rust-hashbrown_0.12.3.orig.tar.gz",
     "8a9ee70c43aaf417c914396645a0fa852624801b24ebb7ae78fe8272889ac888"),
    ("rust-serde", "rust", "deb", "pool/main/r/rust-serde/rust-serde_1.0.152.orig.tar.gz",
     "bb7d1f0d3021d347a83e556fc4683dea2ea09d87bccdf88ff5c12545d89d5efb"),
    ("rails", "ruby", "deb", "pool/main/r/rails/rails_6.1.7.10+dfsg.orig.tar.xz",
     "54f0c056757697e2fd6887e622c23fac5eb862a65ac497e9e3a5081a3dc57f66"),
    ("rubocop", "ruby", "deb", "pool/main/r/rubocop/rubocop_1.39.0+dfsg.orig.tar.xz",
     "ba0ddf790c6afb418a9de66d272d7205e5ae448c65afbc29fbee56c7eb76ec11"),
    ("ruby-sidekiq", "ruby", "deb", "pool/main/r/ruby-sidekiq/ruby-sidekiq_6.4.1+dfsg.orig.tar.xz",
     "9b66aae6cfe8531410a75cbb78f953842b5524041e105f29aa2f928205607c09"),
    ("symfony", "php", "deb", "pool/main/s/symfony/symfony_5.4.53+dfsg.orig.tar.xz",
     "515820883adad6d72924de6414d2f51f8a4eea5d95d836075c89abd4ae6471f1"),
    ("php-laravel-framework", "php", "deb", "pool/main/p/php-laravel-framework/php-laravel-framework_8.83.26+dfsg.orig.tar.xz",
     "dae1be708d1aea10f38be5a73cf8e583218a6a849a98797ae147b4975c328c84"),
    ("php-guzzlehttp-psr7", "php", "deb", "pool/main/p/php-guzzlehttp-psr7/php-guzzlehttp-psr7_2.4.5.orig.tar.xz",
     "47aec9d39609fd2b5bcc400fb0d4c045ee5e228ca990723aba254e75a6130d4f"),
    ("php-league-commonmark", "php", "deb", "pool/main/p/php-league-commonmark/php-league-commonmark_2.3.9.orig.tar.xz",
     "c47403767a27c7d14f036a0a8e758eab213958d2489160412043174dc453f9d3"),
    ("composer", "php", "deb", "pool/main/c/composer/composer_2.5.5.orig.tar.xz",
     "9d24f477e5a3c1c2ab12c1cf734a0d66d4572740d9edad44e462c5dc60983bce"),
    ("kotlin", "kotlin", "deb", "pool/main/k/kotlin/kotlin_1.3.31+ds1.orig.tar.xz",
     "2c45fa552ee4bdb0990ec6c0d62a23b9ad5f52eafc7d0434a3176c71e1cc393c"),
    ("rabbitmq-server", "erlang", "deb", "pool/main/r/rabbitmq-server/rabbitmq-server_3.10.8.orig.tar.xz",
     "903b761ee541c3cf3374506c0d71cd80254392f58c55e033ac8ce3ebcf8d3b29"),
    ("node-typescript", "typescript", "deb", "pool/main/n/node-typescript/node-typescript_4.8.4+ds1.orig.tar.xz",
     "f7917171a6132ab74404e9928d25ec3d07c9398fc0e9b5df1000c5c28b26653f"),
    ("golang-github-prometheus-client-golang-dev", "go", "deb-bin", "pool/main/g/golang-github-prometheus-client-golang/golang-github-prometheus-client-golang-dev_1.14.0-3_all.deb",
     "b95081bf869abc26d70ba2a1dfd9d0ac6675b6ac95c9ffa6e25971ee862e7016"),
    ("prosody", "lua", "deb-bin", "pool/main/p/prosody/prosody_0.12.3-1+deb12u1_amd64.deb",
     "ee51edd4acc3633a27c3acb13af6652fcde2434dc49b3e3c5572eb0b56a803e2"),
    ("lua-penlight", "lua", "deb-bin", "pool/main/l/lua-penlight/lua-penlight_1.13.1-3_all.deb",
     "69918434ee650d06aa470d49ba05a1a16ae43e66b8216e135cc5075f7d5d9ff3"),
    ("lua-busted", "lua", "deb-bin", "pool/main/l/lua-busted/lua-busted_2.1.1-1_all.deb",
     "2bd80d74768b090024c3c6852032c681d323fc0a94506a727d17809e9c9a69b3"),
    ("lua-ldoc", "lua", "deb-bin", "pool/main/l/lua-ldoc/lua-ldoc_1.4.6-2_all.deb",
     "b2fd6c5d66e3e50587dba36ea1e2da9eac10dbea5836625c6b8c3e955bf6c78f"),
    ("luakit", "lua", "deb-bin", "pool/main/l/luakit/luakit_2.3.3-1_amd64.deb",
     "8579e5403878f4368ae1c57048a3f713b3b5663bb9412b18dd6721298d0041c5"),
    ("node-ws", "javascript", "deb-bin", "pool/main/n/node-ws/node-ws_8.11.0+~cs13.7.3-1_all.deb",
     "e4881ce114146dbea21233b53ae41cff5d300698a3dd760e6ff84cd70deda92e"),
    ("node-chalk", "javascript", "deb-bin", "pool/main/n/node-chalk/node-chalk_5.2.0-1_all.deb",
     "e8f007e23a05b2e618b42f77106b3dc4ad86daf14c7c8ee3b30df23d71b8385d"),
    ("node-debug", "javascript", "deb-bin", "pool/main/n/node-debug/node-debug_4.3.4+~cs4.1.7-1_all.deb",
     "bd0709fb1f6fe1e3b2550d44ab9016af7e7b60dfcde841236a98e9473552e1b4"),
    ("python3-sqlalchemy", "python", "deb-bin", "pool/main/s/sqlalchemy/python3-sqlalchemy_1.4.46+ds1-1_all.deb",
     "141f3ed680b5de944c82aff900b1aeb4909a5d17ee0ddd3d697e250b5f765468"),
    ("python3-click", "python", "deb-bin", "pool/main/p/python-click/python3-click_8.1.3-2_all.deb",
     "c3af7e231d711f7fdb9a2fac4954061fe423ea517279bc30bf95a0920738279b"),
    ("python3-attr", "python", "deb-bin", "pool/main/p/python-attrs/python3-attr_22.2.0-1_all.deb",
     "6a12ea96a8a909445a982975279f96d7b9a1ff96c912efff39abc8d92372694a"),
    ("python3-celery", "python", "deb-bin", "pool/main/c/celery/python3-celery_5.2.6-5_all.deb",
     "511b43f8d3fb8ddda852e87f74eb122cfc958bd0d5ede7b8165b00ef60ebdecc"),
    ("python3-tornado", "python", "deb-bin", "pool/main/p/python-tornado/python3-tornado_6.2.0-3+deb12u4_amd64.deb",
     "15e223bca534873c2a951881e6e7a83e64bee00874257b61a5d3759ea46b2f84"),
    ("python3-werkzeug", "python", "deb-bin", "pool/main/p/python-werkzeug/python3-werkzeug_2.2.2-3+deb12u1_all.deb",
     "283e2d849e93531581948b0c49ebdd3831c0a5fc22edb7bc08efd3c38ae055b8"),
    ("python3-yaml", "python", "deb-bin", "pool/main/p/pyyaml/python3-yaml_6.0-3+b2_amd64.deb",
     "8d0db0b3099298fe039b94e4c52a6987798a90d23b80de3ac13c3cb75cf622a2"),
    ("librust-serde-json-dev", "rust", "deb-bin", "pool/main/r/rust-serde-json/librust-serde-json-dev_1.0.87-1_amd64.deb",
     "2d053de630af6649c40a39d9ab6268d5469385289016a1205d0dec196e7b77d2"),
    ("librust-regex-dev", "rust", "deb-bin", "pool/main/r/rust-regex/librust-regex-dev_1.7.1-1_amd64.deb",
     "9b8c87bb5aa87c0095f4cc36ed829c80e815c2f71337325bd6e25f8de1fba7f7"),
    ("librust-hyper-dev", "rust", "deb-bin", "pool/main/r/rust-hyper/librust-hyper-dev_0.14.19-1_amd64.deb",
     "aece343fc0a52b2bc5f479962d8ed191ee4ac75716224cfdc693515234e2beef"),
    ("librust-rayon-core-dev", "rust", "deb-bin", "pool/main/r/rust-rayon-core/librust-rayon-core-dev_1.10.1-1_amd64.deb",
     "c19c1d13bcb9224ff0c984c32d60296ffa95351d6b4f88b38c276abe3d71d054"),
    ("librust-crossbeam-channel-dev", "rust", "deb-bin", "pool/main/r/rust-crossbeam-channel/librust-crossbeam-channel-dev_0.5.6-1_amd64.deb",
     "5ae819d6a49927b98fe588101e4feb792499121f4df1457d9ee30793e3f2abcd"),
    ("librust-ignore-dev", "rust", "deb-bin", "pool/main/r/rust-ignore/librust-ignore-dev_0.4.18-2+b1_amd64.deb",
     "9b193694e88b3c8533c4fe1553ed0f3aae8bd06ff1f3ee652ca3b738d2959204"),
    ("librust-walkdir-dev", "rust", "deb-bin", "pool/main/r/rust-walkdir/librust-walkdir-dev_2.3.2-1_amd64.deb",
     "8b90341f4141832529778ba38e4d82a2d05c95eeada0f2cdc6f2819da627c6ec"),
    ("librust-nom-dev", "rust", "deb-bin", "pool/main/r/rust-nom/librust-nom-dev_7.1.1-1_amd64.deb",
     "a11f91ec226f23f28046a928fbfbb7cae1d2915fab071ccdf14c6d61572aa114"),
    ("librust-chrono-dev", "rust", "deb-bin", "pool/main/r/rust-chrono/librust-chrono-dev_0.4.23-2_amd64.deb",
     "e3d5c2220c1441bdbe550cece4480b70863c39f2856cf8c7b39b2aeb7c47606c"),
    ("librust-bytes-dev", "rust", "deb-bin", "pool/main/r/rust-bytes/librust-bytes-dev_1.2.1-1_amd64.deb",
     "86fbba5fe9d10f1eeb28944e52cfc8caa75f9a509c3603b70f8107f151744fcc"),
    ("librust-url-dev", "rust", "deb-bin", "pool/main/r/rust-url/librust-url-dev_2.3.1-1_amd64.deb",
     "408d745032921069d1d7b2f43490b67418d50c0275789cef35adad7789ba27af"),
    ("librust-h2-dev", "rust", "deb-bin", "pool/main/r/rust-h2/librust-h2-dev_0.3.13-2_amd64.deb",
     "6e987d5b9c9942144ec3d8765aa865812aa6b349a1a25110e3297641260f4cd4"),
    ("librust-mio-dev", "rust", "deb-bin", "pool/main/r/rust-mio/librust-mio-dev_0.8.4-1_amd64.deb",
     "1fb9aaa8e0f4ddff55917fe3181dbbc85d0fa03ffc5ba43dbc939e70dd0460c9"),
    ("librust-petgraph-dev", "rust", "deb-bin", "pool/main/r/rust-petgraph/librust-petgraph-dev_0.6.2-1_amd64.deb",
     "69b0c1b7e23fb76ec9178dd3a56bc5a0bfef902a19b25b05c825c17685d318b6"),
    ("librust-indexmap-dev", "rust", "deb-bin", "pool/main/r/rust-indexmap/librust-indexmap-dev_1.9.2-1_amd64.deb",
     "691b9efb8df4abdfdb238713c1f66416f31e2c2a33fd15687aae2c4dcb9b5308"),
    ("librust-syn-dev", "rust", "deb-bin", "pool/main/r/rust-syn/librust-syn-dev_1.0.107-1_amd64.deb",
     "64bfca244ab8ec45a4da1f5d64411af34f2d6eac7ac094f4f1dce9bf0b8a3699"),
    ("librust-toml-edit-dev", "rust", "deb-bin", "pool/main/r/rust-toml-edit/librust-toml-edit-dev_0.14.4-2_amd64.deb",
     "badfaff9a0fae1b086e3eae676de4a96edcaade08c230146e7efbc5cb7360312"),
    ("ruby-sinatra", "ruby", "deb-bin", "pool/main/r/ruby-sinatra/ruby-sinatra_3.0.5-3+deb12u1_all.deb",
     "7980ec9e78c5e48bf9062111c68296c183c8fb2bb0b522f85e3dc04129221323"),
    ("ruby-faraday", "ruby", "deb-bin", "pool/main/r/ruby-faraday/ruby-faraday_1.1.0-7_all.deb",
     "67e17b9012a198443552c9df47a8cbcea4285aba06c48cc2b772792d3c57e4c0"),
    ("ruby-thor", "ruby", "deb-bin", "pool/main/r/ruby-thor/ruby-thor_1.2.1-2_all.deb",
     "509715d16039ee7336531718e2497d0f81ae125b9ee53f321dd909c2f03fd2e1"),
    ("ruby-i18n", "ruby", "deb-bin", "pool/main/r/ruby-i18n/ruby-i18n_1.10.0-2_all.deb",
     "ad7d40173fa8b64baffd4b792eaf5a329f80f395580e79beb6c12777b6a80fa3"),
    ("jekyll", "ruby", "deb-bin", "pool/main/j/jekyll/jekyll_4.3.1+dfsg-3+deb12u1_all.deb",
     "9bc095fb673699262901b182aa0e147c189708caa21dccaca21d86592be85984"),
    ("php-league-flysystem", "php", "deb-bin", "pool/main/p/php-league-flysystem/php-league-flysystem_1.1.10-1_all.deb",
     "a656d59844471d783ad085e18adf267e1fa65c94bca30bddafdb51e778ccdc45"),
    ("php-doctrine-dbal", "php", "deb-bin", "pool/main/p/php-doctrine-dbal/php-doctrine-dbal_3.6.1+dfsg-1_all.deb",
     "735ec7daf33658e7defecced1b4bb76eb2bf6883283747366f743ada25f5dd7f"),
    ("expo-modules-core", "swift", "npm", "expo-modules-core@58.2.0",
     "c36f39aaaac93b8dbb0b3cb687e7cf73f566e1538d4785c652049f5d51f8213d"),
    ("react-native-vision-camera", "swift", "npm", "react-native-vision-camera@5.2.3",
     "7528052ef249a25f5f9cf4d3a4887407498b929aa0453213401e16d567ede9c1"),
    ("expo-updates", "swift", "npm", "expo-updates@57.0.24",
     "9abf5aa75a35aa7e96c79715e8aeb822e54e909f8ab0a01ed16ce137585793fb"),
    ("capacitor-ios", "swift", "npm", "@capacitor/ios@8.5.2",
     "e81986966d6ab96083351ca686b179f1d952b1d037368e9c21b531ea0c935e51"),
    ("stripe-stripe-react-native", "swift", "npm", "@stripe/stripe-react-native@0.78.0",
     "f6a884a1cbd1f78399b75aa5a0568ed9016e6a8cb04258ff648a353d4a0e6fc0"),
    ("expo-media-library", "swift", "npm", "expo-media-library@57.0.5",
     "a5f582e26c2c39b66bc5d48eb9740f5e33c9344277b6a165e0533f3b6b7b2fa6"),
    ("expo-image", "swift", "npm", "expo-image@58.0.19",
     "853d94f6d34411e2a98e921231c51d4d5cc6e324a027c59940fff5f568e4514b"),
    ("expo-camera", "swift", "npm", "expo-camera@57.0.6",
     "394c5e20536b39dfe39484b4e4b8febdc7cc5193d3cb8432087e16361758910f"),
    ("expo-file-system", "swift", "npm", "expo-file-system@58.0.15",
     "0611ce35280bf0e4a01249436933fb7a4999406bda474faca9c3131643a13df5"),
    ("expo-notifications", "swift", "npm", "expo-notifications@58.0.2",
     "9dcf84282e9d0abe3095155e70d45ebcfac9a5b4857a041b8754636eb12d0884"),
    ("expo-location", "swift", "npm", "expo-location@57.0.20",
     "807093286e7b422c53081fe77598a90f10fd2b32291898fe420347623a1e6aa1"),
    ("expo-sqlite", "swift", "npm", "expo-sqlite@57.0.3",
     "1766ba239d7716dd2b255c5636418e6d4fc150bd2fd58427987a32d97c80f66f"),
    ("capacitor-filesystem", "swift", "npm", "@capacitor/filesystem@8.1.3",
     "a2d0ef52cd997bc5146e5494e2ae8f75e6d886b68919f8d86a4d8a08765abab3"),
    ("effect", "typescript", "npm", "effect@4.1.0",
     "41705a35c964192dfc742863f0e099727ccda7ff2bd67a06d09b093a336f2b0e"),
    ("zod", "typescript", "npm", "zod@4.6.7",
     "84efd155bed93270286e793fc951be270b536cbd5b0eeb111f0fa3967201d698"),
    ("mobx", "typescript", "npm", "mobx@7.1.3",
     "bbd07665d8851ee01df2fd4e12db106c60fd878839610dd8b899548969625616"),
    ("tanstack-query-core", "typescript", "npm", "@tanstack/query-core@5.108.4",
     "7660b37f747ce33f1e5456299009dbe217a08514f402c13e633ae95727e361e0"),
    ("immer", "typescript", "npm", "immer@11.2.14",
     "590d2d7d6b5a114cbbe07af2ca99ee9c4fd362f135d1757b14c869c445e9dc22"),
]

EXTENSIONS = {
    "c": (".c", ".h"), "cpp": (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".h"), "go": (".go",),
    "haskell": (".hs",), "java": (".java",), "csharp": (".cs",), "lua": (".lua",),
    "javascript": (".js", ".mjs", ".cjs"), "python": (".py",), "rust": (".rs",),
    "ruby": (".rb",), "php": (".php",), "kotlin": (".kt", ".kts"), "erlang": (".erl", ".hrl"),
    "typescript": (".ts", ".tsx"), "swift": (".swift",),
}
# Directories whose code is not the package's own or is mostly fixtures.
SKIP_DIRS = {"test", "tests", "testing", "testdata", "spec", "specs", "__tests__",
             "fixtures", "vendor", "third_party", "thirdparty", "third-party",
             "node_modules", "benchmark", "benchmarks", "dist", "build", "generated"}
MAX_FILE = 100_000  # bytes; larger files are generated tables or amalgamations


def fetch(dl, name, kind, spec, sha):
    """The artifact's file under `dl`, downloaded once and checked."""
    if kind == "deb-bin":
        deb = fetch(dl, name, "deb", spec, sha)
        tar = deb[: -len(".deb")] + ".tar"
        if not os.path.exists(tar):
            with open(tar + ".part", "wb") as out:
                subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, stdout=out)
            os.replace(tar + ".part", tar)
        return tar
    if kind == "npm":
        out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", dl],
                             check=True, capture_output=True, text=True)
        path = os.path.join(dl, out.stdout.strip().splitlines()[-1])
    else:
        path = os.path.join(dl, os.path.basename(spec))
        if not os.path.exists(path):
            try:
                urllib.request.urlretrieve(DEBIAN + spec, path + ".part")
            except OSError as e:
                sys.exit(f"{name}: {DEBIAN + spec}: {e}")
            os.replace(path + ".part", path)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != sha:
        sys.exit(f"{name}: {path} has sha256 {h.hexdigest()}, expected {sha}")
    return path


def sources(archive, language):
    """(member name, size) of the language's source files in the archive, sorted."""
    exts = EXTENSIONS[language]
    out = []
    with tarfile.open(archive) as tar:
        for m in tar:
            if not m.isfile() or m.size > MAX_FILE or not m.name.endswith(exts):
                continue
            parts = m.name.lower().split("/")
            if any(p in SKIP_DIRS for p in parts[:-1]) or m.name.endswith(
                    (".d.ts", ".min.js", "_test.go", "_spec.rb", "Test.java", "Tests.cs")):
                continue
            out.append((m.name, m.size))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dest", required=True)
    ap.add_argument("--budget", type=int, default=2_000_000, help="bytes per language")
    args = ap.parse_args()
    dl = args.dest.rstrip("/") + "-dl"
    os.makedirs(dl, exist_ok=True)
    found = {}
    for name, lang, kind, spec, sha in ARTIFACTS:
        archive = fetch(dl, name, kind, spec, sha)
        found[name] = (lang, archive, sources(archive, lang))
    if os.path.exists(args.dest):
        shutil.rmtree(args.dest)
    for lang in EXTENSIONS:
        names = sorted((n for n, v in found.items() if v[0] == lang),
                       key=lambda n: sum(s for _, s in found[n][2]))
        left = args.budget
        total = 0
        for i, name in enumerate(names):
            _, archive, files = found[name]
            share = left // (len(names) - i)
            random.Random(name).shuffle(files)
            chosen, used = set(), 0
            for member, size in files:
                if used + size > share:
                    continue
                chosen.add(member)
                used += size
            left -= used
            total += used
            root = os.path.join(args.dest, f"{lang}-{name}")
            with tarfile.open(archive) as tar:
                for m in tar:
                    if m.name in chosen:
                        target = os.path.join(root, *m.name.split("/")[1:] or [m.name])
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with tar.extractfile(m) as src, open(target, "wb") as dst:
                            shutil.copyfileobj(src, dst)
        print(f"{lang:10} {len(names):2} packages {total / 1e6:5.2f} MB")


if __name__ == "__main__":
    main()
