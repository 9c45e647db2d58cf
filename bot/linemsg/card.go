package linemsg

import (
	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/todoku/todoku/dialog"
)

// Card colours: the marks in LINE green, the text dark, as in the rich menu.
const (
	markColour = "#06C755"
	textColour = "#1F2937"
)

// card renders a card as a Flex bubble: the title on top, one row per line
// (its mark in a fixed column, the text wrapping beside it), and the buttons
// at the bottom. altText is the reply's text.
func card(c *dialog.Card, altText string, qr *messaging_api.QuickReply) *messaging_api.FlexMessage {
	body := []messaging_api.FlexComponentInterface{
		&messaging_api.FlexText{Text: externalText(c.Title), Weight: messaging_api.FlexTextWEIGHT_BOLD, Size: "lg", Color: textColour, Wrap: true},
		&messaging_api.FlexSeparator{Margin: "md"},
	}
	for _, r := range c.Rows {
		row := &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_HORIZONTAL, Spacing: "md", Margin: "md"}
		if r.Mark != "" {
			row.Contents = append(row.Contents, &messaging_api.FlexText{Text: r.Mark, Weight: messaging_api.FlexTextWEIGHT_BOLD, Size: "sm", Color: markColour, Flex: 0})
		}
		row.Contents = append(row.Contents, &messaging_api.FlexText{Text: externalText(r.Text), Size: "sm", Color: textColour, Wrap: true, Flex: 1})
		body = append(body, row)
	}
	bubble := &messaging_api.FlexBubble{
		Body: &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Contents: body},
	}
	if len(c.Actions) > 0 {
		var buttons []messaging_api.FlexComponentInterface
		for i, a := range c.Actions {
			style := messaging_api.FlexButtonSTYLE_SECONDARY
			if i == 0 {
				style = messaging_api.FlexButtonSTYLE_PRIMARY
			}
			b := &messaging_api.FlexButton{Action: action(a), Style: style, Height: messaging_api.FlexButtonHEIGHT_SM}
			if style == messaging_api.FlexButtonSTYLE_PRIMARY {
				b.Color = markColour
			}
			buttons = append(buttons, b)
		}
		bubble.Footer = &messaging_api.FlexBox{Layout: messaging_api.FlexBoxLAYOUT_VERTICAL, Spacing: "sm", Contents: buttons}
	}
	return &messaging_api.FlexMessage{AltText: altText, Contents: bubble, QuickReply: qr}
}
