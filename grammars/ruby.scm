; cseek chunk query for Ruby.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(class name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.class
(singleton_class value: (_) @name) @definition.class
(module name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.module

; A constant bound to a value that spans lines (`DEFAULTS = { … }.freeze`) is a variable,
; in a file, module or class; one-line constants stay with the code around them.
(assignment left: (constant) @name) @definition.variable
