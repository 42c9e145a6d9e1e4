; cseek chunk query for Dart.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; Constructors (`Client.named(…)`, `factory Client.create()`) are named by their last
; part; the class they build is the container.

(class_declaration name: (identifier) @name) @definition.class
(mixin_declaration name: (identifier) @name) @definition.trait
(extension_type_declaration name: (extension_type_name (identifier) @name)) @definition.class
(extension_declaration name: (identifier) @name) @definition.impl
(extension_declaration class: (type) @name) @definition.impl
(enum_declaration name: (identifier) @name) @definition.enum
(type_alias (type_identifier) @name) @definition.type

(function_declaration signature: (function_signature name: (identifier) @name)) @definition.function
(getter_declaration signature: (getter_signature name: (identifier) @name)) @definition.function
(setter_declaration signature: (setter_signature name: (identifier) @name)) @definition.function

(method_declaration
  signature: (method_signature [
    (constructor_signature name: (identifier) name: (identifier) @name)
    (factory_constructor_signature name: (identifier) name: (identifier) @name)
    (redirecting_factory_constructor_signature name: (identifier) name: (identifier) @name)
  ])) @definition.function
(method_declaration
  signature: (method_signature [
    (function_signature name: (identifier) @name)
    (getter_signature name: (identifier) @name)
    (setter_signature name: (identifier) @name)
    (constructor_signature name: (identifier) @name)
    (factory_constructor_signature name: (identifier) @name)
    (redirecting_factory_constructor_signature name: (identifier) @name)
    (operator_signature operator: (_) @name)
  ])) @definition.function

; Abstract members (`Future<void> close();`) and constructors without a body, which
; spell out an interface.
(member_declaration (declaration [
  (function_signature name: (identifier) @name)
  (getter_signature name: (identifier) @name)
  (setter_signature name: (identifier) @name)
  (constructor_signature name: (identifier) name: (identifier) @name)
])) @definition.function

; A top-level variable whose value spans lines (`final router = Router(…)`) is a
; variable; the chunker keeps one-line ones with the code around them.
(source_file
  (top_level_variable_declaration
    (static_final_declaration_list (static_final_declaration name: (identifier) @name))) @definition.variable)
(source_file
  (top_level_variable_declaration
    (initialized_identifier_list (initialized_identifier name: (identifier) @name))) @definition.variable)
