; cseek chunk query for PHP.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum
; Only block namespaces `namespace A { ... }` contain code; `namespace A;` stays top-level.
(namespace_definition name: (namespace_name) @name body: (compound_statement)) @definition.module

; A constant whose value spans lines (`const DEFAULTS = [ … ];`, in a file or a class) is
; a variable; the chunker keeps one-line constants with the code around them.
(const_declaration (const_element (name) @name)) @definition.variable
