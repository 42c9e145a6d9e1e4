; cseek chunk query for Scala.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(class_definition name: (_) @name) @definition.class
(object_definition name: (_) @name) @definition.class
(trait_definition name: (_) @name) @definition.trait
(enum_definition name: (_) @name) @definition.enum
(function_definition name: (_) @name) @definition.function
(function_declaration name: (_) @name) @definition.function
(given_definition name: (_) @name) @definition.function
(type_definition name: (_) @name) @definition.type
(package_clause name: (_) @name body: (_)) @definition.module
(package_object name: (_) @name) @definition.module

; A `val` at the top of a file or in an `object` (Scala's module) whose value spans lines
; is a variable; the chunker keeps one-line vals with the code around them.
(compilation_unit (val_definition pattern: (identifier) @name) @definition.variable)
(object_definition
  body: (template_body (val_definition pattern: (identifier) @name) @definition.variable))
