; cseek chunk query for Swift.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

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
