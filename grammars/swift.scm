; cseek chunk query for Swift.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(class_declaration declaration_kind: "class" name: (_) @name) @definition.class
(class_declaration declaration_kind: "actor" name: (_) @name) @definition.class
(class_declaration declaration_kind: "struct" name: (_) @name) @definition.struct
(class_declaration declaration_kind: "enum" name: (_) @name) @definition.enum
; `extension Foo` adds members to Foo, like a Rust impl.
(class_declaration
  declaration_kind: "extension"
  name: [(user_type (type_identifier) @name) (_) @name]) @definition.impl
(protocol_declaration name: (_) @name) @definition.trait
(function_declaration name: (_) @name) @definition.function
(protocol_function_declaration name: (_) @name) @definition.method
(init_declaration name: _ @name) @definition.method
(deinit_declaration) @definition.method
(subscript_declaration) @definition.method
(typealias_declaration name: (_) @name) @definition.type

; A computed property (`var width: CGFloat { get { … } set { … } }`) is code, like a method.
(property_declaration
  name: (pattern bound_identifier: (simple_identifier) @name)
  computed_value: (computed_property)) @definition.function

; A global `let`/`var` whose value spans lines is a variable; the chunker keeps one-line
; globals with the code around them.
(source_file
  (property_declaration
    name: (pattern bound_identifier: (simple_identifier) @name)) @definition.variable)
