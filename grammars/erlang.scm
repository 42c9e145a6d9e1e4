; cseek chunk query for Erlang.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; Each clause of a function is a declaration of its own in the grammar; the chunker
; merges consecutive clauses of one name, and adds a `-spec` of that name above them.

(fun_decl clause: (function_clause name: (atom) @name)) @definition.function
(record_decl name: (atom) @name) @definition.struct
(type_alias name: (type_name name: (atom) @name)) @definition.type
(opaque name: (type_name name: (atom) @name)) @definition.type
(pp_define lhs: (macro_lhs name: (_) @name)) @definition.macro
