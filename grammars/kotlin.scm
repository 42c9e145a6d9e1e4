; cseek chunk query for Kotlin.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.

(class_declaration "interface" name: (identifier) @name) @definition.interface
(class_declaration name: (identifier) @name (enum_class_body)) @definition.enum
(class_declaration name: (identifier) @name) @definition.class
(object_declaration name: (identifier) @name) @definition.class
(companion_object name: (identifier) @name) @definition.class
(companion_object) @definition.class
(function_declaration name: (identifier) @name) @definition.function
(secondary_constructor) @definition.method
(type_alias type: (identifier) @name) @definition.type

; A property with a getter or setter body is code, like a method.
(property_declaration
  (variable_declaration . (identifier) @name)
  [(getter (function_body)) (setter (function_body))]) @definition.function

; A top-level property whose value spans lines (`val defaultHeaders = mapOf(…)`) is a
; variable; the chunker keeps one-line properties with the code around them.
(source_file
  (property_declaration (variable_declaration . (identifier) @name)) @definition.variable)

; So is a member property whose value or delegate spans lines (`val names by lazy { … }`):
; code that runs, like a method's.
(class_body
  (property_declaration (variable_declaration . (identifier) @name)) @definition.variable)
