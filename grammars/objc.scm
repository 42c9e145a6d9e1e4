; cseek chunk query for Objective-C, followed by c.scm (the grammar extends C's).
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
; A method is named by the first part of its selector (`requestWithURL` for
; `requestWithURL:cachePolicy:`); a category (`@implementation NSString (Paths)`) is a
; part of the class it extends and is named after it.

(class_interface . (identifier) @name) @definition.class
(class_implementation . (identifier) @name) @definition.class
(protocol_declaration . (identifier) @name) @definition.interface

(method_definition (method_type) . (identifier) @name) @definition.method
(method_definition . (identifier) @name) @definition.method
(method_declaration (method_type) . (identifier) @name) @definition.method
(method_declaration . (identifier) @name) @definition.method

; `typedef NS_ENUM(NSInteger, Name) { … }`: the grammar sees a macro type whose
; arguments hold the enum's name.
(type_definition
  type: (macro_type_specifier
    name: (identifier) @_m
    type: (type_descriptor type: (type_identifier) @name))
  (#any-of? @_m "NS_ENUM" "NS_CLOSED_ENUM" "NS_ERROR_ENUM")) @definition.enum
