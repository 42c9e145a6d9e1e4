; cseek chunk query for Rust.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins. Functions inside an impl/trait become methods;
; definitions inside functions stay in them. Doc comments and #[attributes] directly
; above a definition are added by the chunker.

(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.trait
(mod_item name: (identifier) @name body: (_)) @definition.module
(type_item name: (type_identifier) @name) @definition.type
(macro_definition name: (identifier) @name) @definition.macro

; `impl Trait for Type` and `impl Type`: the impl is named after the type, so its
; methods have the type as container.
(impl_item type: [
  (type_identifier) @name
  (generic_type type: (type_identifier) @name)
  (scoped_type_identifier name: (type_identifier) @name)
  (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
]) @definition.impl
(impl_item type: (_) @name) @definition.impl

; `static` and `const` items, wherever items stand (a module, an impl's associated consts).
(const_item name: (identifier) @name) @definition.variable
(static_item name: (identifier) @name) @definition.variable
