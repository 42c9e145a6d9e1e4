; cseek chunk query for Scala.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

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
