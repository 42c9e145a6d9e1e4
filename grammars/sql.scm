; cseek chunk query for SQL (tree-sitter-sequel).
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; Tables, views and types are `type` chunks; functions and procedures are `function`s.

(create_table (object_reference name: (identifier) @name)) @definition.type
(create_view (object_reference name: (identifier) @name)) @definition.type
(create_materialized_view (object_reference name: (identifier) @name)) @definition.type
(create_type (object_reference name: (identifier) @name)) @definition.type
(create_function (object_reference name: (identifier) @name)) @definition.function
(create_trigger (object_reference name: (identifier) @name)) @definition.function
