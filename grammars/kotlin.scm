; cseek chunk query for Kotlin.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

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
