; cseek chunk query for Rust.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

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
