; cseek chunk query for Haskell.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; A type signature and haddock directly above a function are added by the chunker, and
; consecutive equations of one function are merged into one chunk.

(function name: (variable) @name) @definition.function
(bind name: (variable) @name) @definition.function
; Operators, defined prefix (`(<!) = pop`) or infix (`q |> x = …`, ``a `op` b = …``):
; named by the operator, which is what a user types.
(function name: (prefix_id (operator) @name)) @definition.function
(bind name: (prefix_id (operator) @name)) @definition.function
(function (infix operator: (operator) @name)) @definition.function
(function (infix operator: (infix_id (variable) @name))) @definition.function
(data_type name: (name) @name) @definition.type
(newtype name: (name) @name) @definition.type
(type_synonym name: (name) @name) @definition.type
(type_family name: (name) @name) @definition.type
(class name: (name) @name) @definition.trait
; `instance Class Type` is named after the type, like a Rust `impl Trait for Type`; an
; applied type, `instance C a => Class (Tree a b)`, after its constructor (`Tree`).
(instance patterns: (type_patterns (name) @name)) @definition.impl
(instance patterns: (type_patterns (parens (apply constructor: (name) @name)))) @definition.impl
(instance patterns: (type_patterns (parens (apply constructor: (apply constructor: (name) @name))))) @definition.impl
(instance patterns: (type_patterns (parens (apply constructor: (apply constructor: (apply constructor: (name) @name)))))) @definition.impl
(instance name: (_) @name) @definition.impl
