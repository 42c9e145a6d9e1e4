//! Module-level bindings are definitions: a library's objects live under names bound at
//! the top of a module (`export const appRouter = router({…})`, Flask's `g =
//! LocalProxy(…)`), and looking one up by name must find the binding, not its uses.

use cseek::chunk::ChunkKind;
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
use cseek::search::{SearchRequest, Searcher};

fn write(root: &std::path::Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_binding_is_found_by_its_name_above_its_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "server/router.ts",
        "import { router, publicProcedure } from './trpc';\n\n\
         export const appRouter = router({\n  greeting: publicProcedure.query(() => 'hello'),\n});\n",
    );
    // Uses of the name, more of them than the binding has.
    for (i, name) in ["client", "handler", "app"].iter().enumerate() {
        write(
            root,
            &format!("server/{name}.ts"),
            &format!(
                "import {{ appRouter }} from './router';\n\nexport function use{i}() {{\n  \
                 return [appRouter, appRouter.greeting, appRouter.createCaller({{}})];\n}}\n"
            ),
        );
    }
    write(
        root,
        "globals.py",
        "from werkzeug.local import LocalProxy\n\n\
         g = LocalProxy(\n    _cv_app, \"g\", unbound_message=_no_app_msg\n)\n",
    );
    write(
        root,
        "views.py",
        "from .globals import g\n\n\ndef show():\n    return g.user, g.user_id, g.token\n",
    );
    let mut opts = IndexOptions::new(root);
    opts.model = ModelChoice::Off;
    build_index(&opts, &NoProgress).unwrap();
    let searcher = Searcher::open(&opts.index_dir).unwrap();

    let hits = searcher
        .search(&SearchRequest::new("appRouter").top_k(5))
        .unwrap()
        .hits;
    assert_eq!(hits[0].path, "server/router.ts", "{hits:#?}");
    assert_eq!(hits[0].kind, ChunkKind::Variable);
    assert_eq!(hits[0].symbol.as_deref(), Some("appRouter"));
    assert_eq!((hits[0].start_line, hits[0].end_line), (3, 5));

    let hits = searcher
        .search(&SearchRequest::new("g").top_k(5))
        .unwrap()
        .hits;
    assert_eq!(
        (hits[0].path.as_str(), hits[0].symbol.as_deref()),
        ("globals.py", Some("g")),
        "{hits:#?}"
    );
}
