; cseek chunk query for Ruby.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.

(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(class name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.class
(singleton_class value: (_) @name) @definition.class
(module name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.module

; A constant bound to a value that spans lines (`DEFAULTS = { … }.freeze`) is a variable,
; in a file, module or class; one-line constants stay with the code around them.
(assignment left: (constant) @name) @definition.variable
