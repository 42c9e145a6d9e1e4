; cseek chunk query for Haskell.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
; A type signature and haddock directly above a function are added by the chunker, and
; consecutive equations of one function are merged into one chunk.

(function name: (variable) @name) @definition.function
(bind name: (variable) @name) @definition.function
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
